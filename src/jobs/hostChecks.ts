/**
 * Runs the host checks: gathers every probe (about six processes whatever the number of guests
 * and image directories: one system script, two virsh calls for the guests, one for their saved
 * definitions, one or two for networks and versions, plus the cached KVM probe), then applies the
 * rules. A probe that fails becomes a "could not check" result, never an exception: the doctor
 * must report on a half-broken host, that is when it is needed.
 */
import { loadConfig } from '../config/config.js';
import { toHostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { detectAccel } from '../host/kvm.js';
import { readSystemFacts, type SystemFacts } from '../host/system.js';
import { type GuestRow, listGuests, listNetworks, versions, virshArgv } from '../host/virsh.js';
import { type CheckResult, evaluateChecks, type GuestProbe, type HostProbes, type Probed } from '../model/hostChecks.js';

export interface HostCheckRun {
  probes: HostProbes;
  results: CheckResult[];
  /** Milliseconds since the epoch when the probes finished. */
  at: number;
}

export interface HostCheckOptions {
  /** Defaults to config.imageDirs. */
  imageDirs?: string[];
  signal?: AbortSignal;
  /** Ask QEMU again instead of using this session's cached KVM verdict. */
  freshAccel?: boolean;
}

function errorText(e: unknown): string {
  return toHostError(e).sentence;
}

async function probe<T>(run: () => Promise<T>): Promise<Probed<T>> {
  try {
    return { value: await run() };
  } catch (e) {
    return { error: errorText(e) };
  }
}

const MARK = '@@virtdeck-hostcheck@@';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Pure: the MAC of each `<interface>` in a domain XML, null for one without `<mac address=…>`. */
export function interfaceMacs(xml: string): (string | null)[] {
  const devices = xml.match(/<devices>[\s\S]*<\/devices>/)?.[0] ?? '';
  return [...devices.matchAll(/<interface\b[^>]*?(?:\/>|>([\s\S]*?)<\/interface>)/g)].map((m) => {
    const mac = (m[1] ?? '').match(/<mac\s+address=['"]([^'"]+)['"]/);
    return mac ? (mac[1] as string).toLowerCase() : null;
  });
}

/**
 * listGuests reads the live XML, where libvirt shows a generated MAC even when the definition has
 * none; the saved definitions of all guests come in one virsh process (UUIDs only in the string).
 */
export async function savedMacs(host: HostContext, guests: GuestRow[], signal?: AbortSignal): Promise<Map<string, (string | null)[]>> {
  const persistent = guests.filter((g) => g.persistent && UUID_RE.test(g.uuid));
  const out = new Map<string, (string | null)[]>();
  if (persistent.length === 0) return out;
  const script = [...persistent.map((g) => `echo ${MARK}; dumpxml --inactive --domain ${g.uuid}`), `echo ${MARK}`].join('; ');
  const r = await host.virshExec.run(virshArgv(host, [script]), { signal, timeoutMs: 60_000 + persistent.length * 500, virshErrorsAreAnswers: true });
  const chunks = r.stdout.split(new RegExp(`^${MARK}$`, 'm')).slice(1, persistent.length + 1);
  chunks.forEach((chunk, i) => {
    const g = persistent[i];
    if (g && chunk.includes('<domain')) out.set(g.name, interfaceMacs(chunk));
  });
  return out;
}

async function guestProbes(host: HostContext, signal?: AbortSignal): Promise<GuestProbe[]> {
  const rows = await listGuests(host);
  const macs = await savedMacs(host, rows, signal);
  return rows.map((g) => ({
    name: g.name,
    state: g.state,
    osType: g.osType,
    memoryKiB: g.memoryKiB,
    disks: g.disks,
    nics: g.nics,
    savedMacs: g.persistent ? (macs.get(g.name) ?? g.nics.map((n) => n.mac || null)) : null,
  }));
}

/** Gathers every probe, in parallel where they do not depend on each other. */
export async function gatherProbes(host: HostContext, opts: HostCheckOptions = {}): Promise<HostProbes> {
  const dirs = opts.imageDirs ?? loadConfig().imageDirs;
  const [facts, accel, libvirt, networks, guests] = await Promise.all([
    probe<SystemFacts>(() => readSystemFacts(host.sysExec, dirs, { signal: opts.signal })),
    probe(() => detectAccel(host.sysExec, { fresh: opts.freshAccel, signal: opts.signal })),
    probe(() => versions(host)),
    probe(() => listNetworks(host)),
    probe(() => guestProbes(host, opts.signal)),
  ]);
  const failed = (p: { error: string }) => ({ error: p.error });
  return {
    system: 'error' in facts ? failed(facts) : { value: facts.value.system },
    accel: 'error' in accel ? failed(accel) : { value: { accel: accel.value.accel, reason: accel.value.reason } },
    libvirt: 'error' in libvirt ? failed(libvirt) : { value: { libvirt: libvirt.value.libvirt, hypervisor: libvirt.value.hypervisor } },
    network:
      'error' in facts ? failed(facts) : 'error' in networks ? failed(networks) : { value: { bridges: facts.value.bridges, networks: networks.value } },
    guests,
    imageDirs: 'error' in facts ? failed(facts) : { value: facts.value.imageDirs },
  };
}

export async function runHostChecks(host: HostContext, opts: HostCheckOptions = {}): Promise<HostCheckRun> {
  const probes = await gatherProbes(host, opts);
  return { probes, results: evaluateChecks(probes), at: Date.now() };
}
