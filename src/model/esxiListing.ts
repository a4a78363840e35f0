/**
 * The VMs of an ESXi host, read with ONE ssh command: every `.vmx` one directory deep in each
 * datastore under /vmfs/volumes, the datastores' name → UUID links (ESXi shows each datastore twice,
 * as its name and as its UUID directory), and, where `vim-cmd` exists, the registered VMs and their
 * power state. Without vim-cmd (or for a VM it does not know), a `.lck` lock beside the .vmx says
 * the VM is open. Everything in the answer is the remote host's text: paths that are not exactly
 * ROOT/DATASTORE/DIR/NAME.vmx, or hold `..` or control characters, are left out. Pure.
 */
import { shown } from './shown.js';
import { UserError } from './userError.js';

export const ESXI_VOLUMES = '/vmfs/volumes';

export type PowerState = 'on' | 'off' | 'suspended' | 'unknown';

export interface EsxiVm {
  /** ROOT/DATASTORE/DIR/NAME.vmx, with the datastore's name where it has one. */
  vmx: string;
  datastore: string;
  /** vim-cmd's name, else the .vmx's file name without .vmx. */
  name: string;
  vmid: number | null;
  power: PowerState;
  /** Where the power state came from. */
  powerFrom: 'vim-cmd' | 'lock';
}

export interface EsxiListing {
  root: string;
  vms: EsxiVm[];
  /** Datastore name → the UUID directory it links to. */
  datastores: Map<string, string>;
  vimCmd: boolean;
}

/**
 * The listing script; the datastore root comes in as $1, never into the text. POSIX sh as ESXi's
 * busybox ash runs it (no awk, no bash), one line per record, tab-separated.
 */
export const LISTING_SCRIPT = [
  'root=$1',
  'if command -v vim-cmd >/dev/null 2>&1; then',
  '  echo @@vms',
  // Kept in a variable: nothing is written on the host.
  '  vms=$(vim-cmd vmsvc/getallvms 2>/dev/null)',
  '  printf "%s\\n" "$vms"',
  '  echo @@power',
  '  printf "%s\\n" "$vms" | while read -r id rest; do',
  "    case $id in ''|*[!0-9]*) continue;; esac",
  '    printf "%s\\t%s\\n" "$id" "$(vim-cmd vmsvc/power.getstate "$id" 2>/dev/null | tail -n 1)"',
  '  done',
  'fi',
  'echo @@stores',
  'for d in "$root"/*; do',
  '  [ -d "$d" ] || continue',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion (no basename process per entry)
  '  if [ -L "$d" ]; then printf "L\\t%s\\t%s\\n" "${d##*/}" "$(readlink "$d")"; else printf "D\\t%s\\n" "${d##*/}"; fi',
  'done',
  'echo @@vmx',
  'for f in "$root"/*/*/*.vmx; do',
  '  [ -f "$f" ] || continue',
  '  l=0',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion (no dirname process per VM)
  '  for x in "$f.lck" "${f%/*}"/*.lck "${f%/*}"/.lck-*; do [ -e "$x" ] && l=1; done',
  '  printf "%s\\t%s\\n" "$l" "$f"',
  'done',
  'echo @@end',
].join('\n');

/** Splits `@@name` sections; a section that never started is absent. */
export function listingSections(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of stdout.split('\n')) {
    const m = /^@@(\w+)$/.exec(line);
    if (m) {
      current = [];
      out.set(m[1] as string, current);
    } else current?.push(line);
  }
  return out;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** A path segment a remote host may name: no `.`/`..`, no slash, no control character. */
export function plainSegment(s: string): boolean {
  return s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !CONTROL.test(s);
}

/** `Powered on` (vim-cmd's last line) → on; anything unknown stays unknown. */
export function parsePowerState(text: string): PowerState {
  const t = text.trim().toLowerCase();
  if (/powered on$/.test(t)) return 'on';
  if (/powered off$/.test(t)) return 'off';
  if (/suspended$/.test(t)) return 'suspended';
  return 'unknown';
}

export interface RegisteredVm {
  vmid: number;
  name: string;
  /** `[datastore1] dir/name.vmx` as ROOT/datastore1/dir/name.vmx. */
  vmx: string;
}

/** `vim-cmd vmsvc/getallvms`: a heading, then `Vmid  Name  [store] dir/x.vmx  guestOS  vmx-NN  annotation`. */
export function parseGetAllVms(lines: string[], root: string): RegisteredVm[] {
  const out: RegisteredVm[] = [];
  for (const line of lines) {
    const m = /^\s*(\d+)\s+(.*?)\s+\[([^\]]+)\]\s+(.+?\.vmx)(?:\s|$)/.exec(line);
    if (!m) continue;
    const rel = (m[4] as string).split('/');
    const store = m[3] as string;
    if (!plainSegment(store) || rel.length !== 2 || !rel.every(plainSegment)) continue;
    out.push({ vmid: Number(m[1]), name: (m[2] as string).trim(), vmx: `${root}/${store}/${rel.join('/')}` });
  }
  return out;
}

/** The listing script's answer; `root` is what was given as $1. */
export function parseEsxiListing(stdout: string, root: string): EsxiListing {
  const s = listingSections(stdout);
  if (!s.has('end') || !s.has('vmx')) {
    throw new UserError(`The host's answer to the VM listing was cut short.`, 'Run the import again; if it repeats, check that the ESXi shell (sh) works for the ssh user.');
  }
  const datastores = new Map<string, string>();
  const uuidDirs = new Set<string>();
  for (const line of s.get('stores') ?? []) {
    const [kind, name, target] = line.split('\t');
    if (!name || !plainSegment(name)) continue;
    if (kind === 'D') uuidDirs.add(name);
    // A datastore link names its UUID directory, absolute or relative.
    else if (kind === 'L' && target) {
      const t = target.replace(/\/+$/, '');
      const base = t.slice(t.lastIndexOf('/') + 1);
      if (plainSegment(base)) datastores.set(name, base);
    }
  }
  const nameOf = new Map<string, string>();
  for (const [name, uuid] of datastores) if (!nameOf.has(uuid)) nameOf.set(uuid, name);
  const vimCmd = s.has('vms');
  const registered = vimCmd ? parseGetAllVms(s.get('vms') ?? [], root) : [];
  const power = new Map<number, PowerState>();
  for (const line of s.get('power') ?? []) {
    const [id, state] = line.split('\t');
    if (id && /^\d+$/.test(id)) power.set(Number(id), parsePowerState(state ?? ''));
  }
  /** ROOT/UUID/dir/x.vmx → ROOT/NAME/dir/x.vmx, so a VM found through both is listed once. */
  const canonical = (store: string) => nameOf.get(store) ?? store;
  const byPath = new Map<string, EsxiVm>();
  for (const line of s.get('vmx') ?? []) {
    const tab = line.indexOf('\t');
    const lock = line.slice(0, tab);
    const path = line.slice(tab + 1);
    if (tab < 0 || !path.startsWith(`${root}/`)) continue;
    const rel = path.slice(root.length + 1).split('/');
    if (rel.length !== 3 || !rel.every(plainSegment) || !/\.vmx$/i.test(rel[2] as string)) continue;
    const store = canonical(rel[0] as string);
    const vmx = `${root}/${store}/${rel[1]}/${rel[2]}`;
    const reg = registered.find((r) => r.vmx === vmx || r.vmx === `${root}/${datastores.get(store) ?? ''}/${rel[1]}/${rel[2]}`);
    const state = reg ? power.get(reg.vmid) : undefined;
    const locked = lock === '1' || byPath.get(vmx)?.power === 'on';
    byPath.set(vmx, {
      vmx,
      datastore: store,
      name: reg?.name || (rel[2] as string).replace(/\.vmx$/i, ''),
      vmid: reg?.vmid ?? null,
      power: state && state !== 'unknown' ? state : locked ? 'on' : 'off',
      powerFrom: state && state !== 'unknown' ? 'vim-cmd' : 'lock',
    });
  }
  const vms = [...byPath.values()].sort((a, b) => a.vmx.localeCompare(b.vmx));
  return { root, vms, datastores, vimCmd };
}

/** `on (vim-cmd)`, `off (no lock)`: how a VM list shows the state and how it is known. */
export function powerLabel(vm: EsxiVm): string {
  const word = vm.power === 'on' ? 'powered on' : vm.power === 'off' ? 'powered off' : vm.power;
  if (vm.powerFrom === 'vim-cmd') return word;
  return vm.power === 'on' ? 'locked (.lck)' : 'no lock';
}

/** The VM `--vm` names: its .vmx path, DATASTORE/DIR/NAME.vmx, DIR, or its name; refuses none or several. */
export function pickVm(listing: EsxiListing, wanted: string, host: string): EsxiVm {
  const w = wanted.trim().replace(/\/+$/, '');
  const rel = (vm: EsxiVm) => vm.vmx.slice(listing.root.length + 1);
  const dirOf = (vm: EsxiVm) => rel(vm).split('/')[1];
  const exact = listing.vms.filter((vm) => vm.vmx === w || rel(vm) === w);
  const found = exact.length > 0 ? exact : listing.vms.filter((vm) => vm.name === w || dirOf(vm) === w || rel(vm).split('/')[2]?.replace(/\.vmx$/i, '') === w);
  if (found.length === 1) return found[0] as EsxiVm;
  if (found.length === 0) {
    const some = listing.vms.slice(0, 5).map((vm) => vm.name);
    throw new UserError(
      `${host} has no VM "${shown(wanted)}" under ${listing.root}.`,
      some.length ? `Name one of its VMs (${some.join(', ')}${listing.vms.length > 5 ? ', …' : ''}), or run without --vm to list them all.` : 'The host has no .vmx in its datastores; check --datastores.',
    );
  }
  throw new UserError(`"${shown(wanted)}" names ${found.length} VMs on ${host}.`, `Give the .vmx path instead: ${found.map(rel).join(' or ')}.`);
}

/** The refusal for a VM that runs (or is suspended): its disks change while they are read. */
export function poweredOnRefusal(vm: EsxiVm, host: string): UserError | null {
  if (vm.power === 'off' || vm.power === 'unknown') return null;
  if (vm.powerFrom === 'lock') {
    return new UserError(
      `${vm.name} on ${host} is open: a .lck lock is beside ${shown(vm.vmx)}, so its disks may change while they are read.`,
      'Shut the guest down in ESXi first; if no ESXi runs it (a copied directory), remove the .lck files and try again.',
    );
  }
  const how = vm.vmid === null ? 'in the ESXi web UI' : `(vim-cmd vmsvc/power.shutdown ${vm.vmid} on the host, or in the ESXi web UI)`;
  return new UserError(
    `${vm.name} is ${vm.power === 'on' ? 'powered on' : 'suspended'} on ${host}, so its disks change while they are read.`,
    `Shut the guest down ${how}${vm.power === 'suspended' ? ' after resuming it' : ''}, then import again.`,
  );
}
