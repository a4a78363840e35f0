/**
 * `virtdeck guest list --all-hosts`: the all-hosts view's headless twin. Every host of the config
 * file and this one are asked at once, each within its own deadline; a host that does not answer
 * is reported with its sentence and fix while the others' guests are listed, and the exit code
 * says a host failed (1) so a script notices.
 */
import type { HostEntry } from '../../config/config.js';
import type { HostOptions } from '../../config/connect.js';
import { resolveHost } from '../../config/resolveHost.js';
import type { HostContext } from '../../host/hostContext.js';
import { HOST_TIMEOUT_MS, listOnEveryHost } from '../../host/hostRound.js';
import { shown } from '../../model/shown.js';
import { UserError } from '../../model/userError.js';
import { otherHosts, tagRows } from '../../store/allHosts.js';
import { asciiOnly, EXIT, type ExitCode, errorPayload, formatError, formatGuestTable } from '../output.js';
import type { GuestCommandContext } from './guest.js';

export interface AllHostsDeps {
  /** The config file's hosts, or why it could not be read. */
  hosts: readonly HostEntry[] | UserError;
  connect(target: HostOptions): HostContext;
  timeoutMs?: number;
}

interface HostLine {
  name: string;
  uri: string;
  ok: boolean;
  ms: number | null;
  guests: number;
  error?: ReturnType<typeof errorPayload>;
}

export async function listAllHostsCommand(ctx: GuestCommandContext, deps: AllHostsDeps): Promise<ExitCode> {
  // The other hosts come only from the config file: without it there is nothing to list them from.
  if (deps.hosts instanceof UserError) throw deps.hosts;
  const entries = deps.hosts;
  const others = otherHosts(ctx.host, entries).map((e) => {
    try {
      const target = resolveHost(e.name, entries, 'the config file');
      if (target instanceof UserError) return { entry: e, host: null, refusal: target as unknown };
      return { entry: e, host: { ...deps.connect(target), name: e.name } as HostContext, refusal: null };
    } catch (err) {
      return { entry: e, host: null, refusal: err };
    }
  });
  const asked = others.filter((o) => o.host);
  const answers = await listOnEveryHost([ctx.host, ...asked.map((o) => o.host as HostContext)], { timeoutMs: deps.timeoutMs ?? HOST_TIMEOUT_MS });
  const [here, ...rest] = answers;
  const lines: HostLine[] = [];
  const failures: { name: string; error: unknown }[] = [];
  const tagged: Parameters<typeof tagRows>[0][number][] = [];
  const record = (name: string, uri: string, a: (typeof answers)[number] | undefined, refusal: unknown) => {
    if (a?.ok) {
      lines.push({ name, uri, ok: true, ms: a.ms, guests: a.listed.guests.length });
      tagged.push({ host: name, guests: a.listed.guests });
      return;
    }
    const error = refusal ?? (a && !a.ok ? a.error : new UserError(`${name} was not asked.`, 'Check its entry in the config file.'));
    lines.push({ name, uri, ok: false, ms: a?.ms ?? null, guests: 0, error: errorPayload(error) });
    failures.push({ name, error });
  };
  record(ctx.host.name, ctx.host.uri, here, null);
  for (const o of others) record(o.entry.name, o.entry.uri, o.host ? rest[asked.indexOf(o)] : undefined, o.refusal);
  const guests = tagRows(tagged);
  const code = failures.length ? EXIT.failed : EXIT.ok;
  if (ctx.output.json) {
    ctx.output.out(JSON.stringify({ ok: failures.length === 0, hosts: lines, guests }, null, 2));
    return code;
  }
  ctx.output.out(formatGuestTable(guests, { ascii: asciiOnly(), hosts: true }));
  ctx.output.out(`${lines.filter((l) => l.ok).length}/${lines.length} hosts answered.`);
  for (const f of failures) ctx.output.err(formatError(f.error).replace(/^virtdeck: /, `virtdeck: ${shown(f.name)} unreachable: `));
  return code;
}
