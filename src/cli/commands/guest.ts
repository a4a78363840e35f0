import { createTwoFilesPatch } from 'diff';
import { HostError } from '../../host/errors.js';
import type { HostContext } from '../../host/hostContext.js';
import type { GuestRow, GuestState } from '../../host/virsh.js';
import * as virsh from '../../host/virsh.js';
import { defineEdited } from '../../jobs/defineEdited.js';
import { deleteGuest, guestDiskSources, notDeletedError } from '../../jobs/guestDelete.js';
import { checkIsoOnHost } from '../../jobs/isoCheck.js';
import { parseDomainXml, serializeDomainXml } from '../../model/domainXml.js';
import { isActive } from '../../model/guest.js';
import { UserError } from '../../model/userError.js';
import { asciiOnly, EXIT, type ExitCode, errorPayload, exitCodeFor, formatError, formatGuestTable, isUnknownGuest, type Output } from '../output.js';
import { applyEdits, describeEdit, type EditFlags, parseEditFlags } from './editFlags.js';

/**
 * The headless twin of the Guests pane. Each command returns its exit code and writes through
 * an Output, so tests run them against a fake host and read the text back.
 */

export interface GuestCommandContext {
  host: HostContext;
  output: Output;
}

/** One guest's outcome in a multi-guest command: printed as a line, or as an entry in JSON. */
export interface GuestResult {
  name: string;
  result: string;
  code: ExitCode;
  error?: ReturnType<typeof errorPayload>;
}


function noSuchGuest(host: HostContext, name: string): UserError {
  return new UserError(`There is no guest named "${name}" on ${host.uri}.`, 'Run `virtdeck guest list` to see the names (they are case-sensitive).');
}

/** The guest's state, turning virsh's "failed to get domain" into the admin's typo (exit 2). */
async function stateOf(host: HostContext, name: string): Promise<GuestState> {
  try {
    return await virsh.domState(host, name);
  } catch (e) {
    if (isUnknownGuest(e)) throw noSuchGuest(host, name);
    throw e;
  }
}

/** Severity for the combined exit code: a usage error beats a failure beats "forced" beats ok. */
const RANK: Record<ExitCode, number> = { [EXIT.ok]: 0, [EXIT.forced]: 1, [EXIT.failed]: 2, [EXIT.usage]: 3, [EXIT.interrupted]: 4, [EXIT.terminated]: 4 };

export function combineExitCodes(codes: ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>((worst, c) => (RANK[c] > RANK[worst] ? c : worst), EXIT.ok);
}

async function forEachGuest(
  ctx: GuestCommandContext,
  names: string[],
  action: (name: string) => Promise<{ result: string; code?: ExitCode }>,
): Promise<ExitCode> {
  const results: GuestResult[] = [];
  for (const name of names) {
    try {
      const r = await action(name);
      results.push({ name, result: r.result, code: r.code ?? EXIT.ok });
      if (!ctx.output.json) ctx.output.out(`${name}: ${r.result}`);
    } catch (e) {
      results.push({ name, result: 'failed', code: exitCodeFor(e), error: errorPayload(e) });
      if (!ctx.output.json) ctx.output.err(formatError(e));
    }
  }
  const code = combineExitCodes(results.map((r) => r.code));
  if (ctx.output.json) {
    const firstError = results.find((r) => r.error)?.error;
    const guests = results.map(({ code: _c, ...r }) => r);
    ctx.output.out(JSON.stringify({ ok: firstError === undefined, guests, ...(firstError ? { error: firstError } : {}) }, null, 2));
  }
  return code;
}

export async function listCommand(ctx: GuestCommandContext): Promise<ExitCode> {
  const guests: GuestRow[] = await virsh.listGuests(ctx.host);
  if (ctx.output.json) ctx.output.out(JSON.stringify({ ok: true, guests }, null, 2));
  else ctx.output.out(formatGuestTable(guests, { ascii: asciiOnly() }));
  return EXIT.ok;
}

export function startCommand(ctx: GuestCommandContext, names: string[]): Promise<ExitCode> {
  return forEachGuest(ctx, names, async (name) => {
    const state = await stateOf(ctx.host, name);
    // crashed (kept for inspection) and unknown go to virsh start, whose refusal says what to do.
    if (isActive(state) && state !== 'crashed' && state !== 'unknown') return { result: `already ${state}` };
    await virsh.start(ctx.host, name);
    return { result: 'started' };
  });
}

export interface ShutdownOptions {
  timeoutSec: number;
  forceAfter: boolean;
  signal?: AbortSignal;
}

/** Parses --timeout: whole seconds, 0 meaning "ask and do not wait". */
export function parseTimeout(text: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new UserError(`--timeout ${text} is not a whole number of seconds.`, 'Write the seconds to wait, for example --timeout 120.');
  }
  return Number(text.trim());
}

export function shutdownCommand(ctx: GuestCommandContext, names: string[], opts: ShutdownOptions): Promise<ExitCode> {
  return forEachGuest(ctx, names, async (name) => {
    const state = await stateOf(ctx.host, name);
    if (!isActive(state)) return { result: 'already shut off' };
    await virsh.shutdown(ctx.host, name);
    if (opts.timeoutSec === 0 && !opts.forceAfter) return { result: 'asked to shut down (not waiting)' };
    if (await virsh.waitForState(ctx.host, name, 'shut off', opts.timeoutSec * 1000, opts.signal)) return { result: 'shut off' };
    if (opts.forceAfter) {
      // The guest may have finished shutting down in the gap; destroying a stopped guest fails.
      if (isActive(await stateOf(ctx.host, name))) await virsh.destroy(ctx.host, name);
      return { result: `forced off (no ACPI shutdown within ${opts.timeoutSec} s)`, code: EXIT.forced };
    }
    throw new HostError({
      sentence: `${name} did not shut down within ${opts.timeoutSec} s; it is still ${await stateOf(ctx.host, name)}.`,
      fix: `Wait longer (--timeout), add --force-after to force it off after the timeout, or run \`virtdeck guest destroy ${name}\`.`,
      command: virsh.virshArgv(ctx.host, ['shutdown', '--domain', name]),
      stderr: '',
      code: 'shutdown-timeout',
    });
  });
}

export function destroyCommand(ctx: GuestCommandContext, names: string[]): Promise<ExitCode> {
  return forEachGuest(ctx, names, async (name) => {
    const state = await stateOf(ctx.host, name);
    if (!isActive(state)) return { result: 'already shut off' };
    await virsh.destroy(ctx.host, name);
    return { result: 'forced off' };
  });
}

export function rebootCommand(ctx: GuestCommandContext, name: string): Promise<ExitCode> {
  return forEachGuest(ctx, [name], async () => {
    const state = await stateOf(ctx.host, name);
    if (state !== 'running' && state !== 'idle') {
      throw new UserError(`${name} is ${state}, so it cannot be rebooted.`, `Start it instead: virtdeck guest start ${name}.`);
    }
    await virsh.reboot(ctx.host, name);
    return { result: 'asked to reboot' };
  });
}

export function parseOnOff(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'on' || t === 'yes' || t === 'true') return true;
  if (t === 'off' || t === 'no' || t === 'false') return false;
  throw new UserError(`"${text}" is neither on nor off.`, 'Write on or off, for example: virtdeck guest autostart web on.');
}

export function autostartCommand(ctx: GuestCommandContext, name: string, value: string): Promise<ExitCode> {
  const on = parseOnOff(value);
  return forEachGuest(ctx, [name], async () => {
    await stateOf(ctx.host, name);
    await virsh.setAutostart(ctx.host, name, on);
    return { result: on ? 'autostart on' : 'autostart off' };
  });
}

export async function findGuest(host: HostContext, name: string): Promise<GuestRow> {
  const guest = (await virsh.listGuests(host)).find((g) => g.name === name);
  if (!guest) throw noSuchGuest(host, name);
  return guest;
}

export interface UndefineOptions {
  yes: boolean;
  removeDisks: boolean;
}

export function undefineCommand(ctx: GuestCommandContext, name: string, opts: UndefineOptions): Promise<ExitCode> {
  return forEachGuest(ctx, [name], async () => {
    const guest = await findGuest(ctx.host, name);
    const disks = guestDiskSources(guest);
    const what = opts.removeDisks && disks.length > 0 ? `the definition of ${name} and its disks ${disks.join(', ')}` : `the definition of ${name}`;
    if (!opts.yes) {
      const keep = !opts.removeDisks && disks.length > 0 ? ` (its disks ${disks.join(', ')} would stay)` : '';
      throw new UserError(`This would remove ${what}${keep}.`, `Add --yes to confirm: virtdeck guest undefine ${name} --yes${opts.removeDisks ? ' --remove-disks' : ''}.`);
    }
    if (isActive(guest.state)) {
      throw new UserError(`${name} is ${guest.state}; undefining it now would leave it running without a definition.`, `Shut it down first: virtdeck guest shutdown ${name}.`);
    }
    const r = await deleteGuest(ctx.host, name, { withDisks: opts.removeDisks, confirmed: disks });
    if (r.notDeleted.length > 0) throw notDeletedError(name, r);
    return { result: `removed ${what}` };
  });
}

export function xmlCommand(ctx: GuestCommandContext, name: string, opts: { inactive: boolean }): Promise<ExitCode> {
  return (async () => {
    try {
      const xml = await virsh.dumpXml(ctx.host, name, { inactive: opts.inactive });
      if (ctx.output.json) ctx.output.out(JSON.stringify({ ok: true, guests: [{ name, xml }] }, null, 2));
      else ctx.output.out(xml);
      return EXIT.ok;
    } catch (e) {
      if (isUnknownGuest(e)) throw noSuchGuest(ctx.host, name);
      throw e;
    }
  })();
}

export interface EditOptions extends EditFlags {
  dryRun: boolean;
  rng?: () => number;
}

/** The unified diff an edit makes, with the guest's name in the file labels; '' when unchanged. */
export function xmlDiff(name: string, before: string, after: string): string {
  if (before === after) return '';
  return createTwoFilesPatch(`${name}.xml`, `${name}.xml (edited)`, before, after, undefined, undefined, { context: 2 })
    .split('\n')
    .filter((l) => !l.startsWith('====='))
    .join('\n');
}

export async function editCommand(ctx: GuestCommandContext, name: string, opts: EditOptions): Promise<ExitCode> {
  // Bad flags fail before anything is read from the host.
  const edits = parseEditFlags(opts, opts.rng);
  // libvirt defines a CD-ROM whose file is missing; the guest would only fail at its next start.
  for (const e of edits) if (e.kind === 'attachIso') await checkIsoOnHost(ctx.host, e.path);
  let before: string;
  try {
    before = await virsh.dumpXml(ctx.host, name, { inactive: true });
  } catch (e) {
    if (isUnknownGuest(e)) throw noSuchGuest(ctx.host, name);
    throw e;
  }
  // Compare serialised to serialised so only the edits show, not the serialiser's whitespace.
  const doc = parseDomainXml(before);
  const original = serializeDomainXml(doc);
  const edited = serializeDomainXml(applyEdits(doc, edits));
  const diff = xmlDiff(name, original, edited);
  const changes = edits.map(describeEdit);
  const running = isActive(await stateOf(ctx.host, name));
  if (diff && !opts.dryRun) await defineEdited(ctx.host, before, edited);
  const result = !diff ? 'nothing changed' : opts.dryRun ? 'dry run: nothing defined' : running ? 'defined; applies at the next start' : 'defined';
  if (ctx.output.json) {
    ctx.output.out(JSON.stringify({ ok: true, guests: [{ name, result, changes, diff, dryRun: opts.dryRun }] }, null, 2));
  } else {
    if (diff) ctx.output.out(diff);
    ctx.output.out(`${name}: ${result}${!diff ? ` (${changes.join('; ')} already set)` : ''}`);
  }
  return EXIT.ok;
}
