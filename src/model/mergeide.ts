/**
 * MergeIDE (Microsoft KB314082) as data, pure: the CriticalDeviceDatabase entries and service keys
 * that let Windows XP/2003-era systems find their boot disk on an IDE controller it has never seen
 * (QEMU's PIIX3), plus the viostor/vioscsi entries for virtio disks. Rendered two ways: one .reg for
 * regedit inside the running guest (CurrentControlSet exists there), and one .reg per
 * `ControlSet00N` for `hivexregedit --merge` on an offline hive, where CurrentControlSet does not
 * exist and every parent key must come before its children (hivexregedit creates a key only under
 * an existing parent). `parseReg` is the inverse, used to read `hivexregedit --export` output.
 */

import { countOf } from './countText.js';
import { UserError } from './userError.js';

export type RegValue =
  | { name: string; type: 'sz'; data: string }
  | { name: string; type: 'expand_sz'; data: string }
  | { name: string; type: 'dword'; data: number }
  /** Any other type, kept as hivexregedit writes it: hex(N) and the bytes. */
  | { name: string; type: 'raw'; kind: number; hex: string };

/** A key relative to a control set: ['Control', 'CriticalDeviceDatabase', 'gendisk']. */
export interface RegKey {
  path: string[];
  values: RegValue[];
}

/** A parsed .reg section: the full key path as written between the brackets. */
export interface RegSection {
  path: string;
  values: RegValue[];
}

export const HKLM_SYSTEM = 'HKEY_LOCAL_MACHINE\\SYSTEM';
const HDC_CLASS = '{4D36E96A-E325-11CE-BFC1-08002BE10318}';
const DISK_CLASS = '{4D36E967-E325-11CE-BFC1-08002BE10318}';
const SCSI_CLASS = '{4D36E97B-E325-11CE-BFC1-08002BE10318}';

function cdd(id: string, service: string, classGuid: string): RegKey {
  return {
    path: ['Control', 'CriticalDeviceDatabase', id],
    values: [
      { name: 'ClassGUID', type: 'sz', data: classGuid },
      { name: 'Service', type: 'sz', data: service },
    ],
  };
}

function service(name: string, file: string, group: string, displayName: string): RegKey {
  return {
    path: ['Services', name],
    values: [
      { name: 'DisplayName', type: 'sz', data: displayName },
      { name: 'ErrorControl', type: 'dword', data: 1 },
      { name: 'Group', type: 'sz', data: group },
      { name: 'ImagePath', type: 'expand_sz', data: `System32\\DRIVERS\\${file}` },
      { name: 'Start', type: 'dword', data: 0 },
      { name: 'Type', type: 'dword', data: 1 },
    ],
  };
}

/** PCI IDE controllers the generic pciide.sys drives (the KB314082 list). */
const PCIIDE_IDS = [
  'pci#cc_0101',
  'pci#ven_0e11&dev_ae33',
  'pci#ven_1039&dev_0601',
  'pci#ven_1039&dev_5513',
  'pci#ven_1042&dev_1000',
  'pci#ven_1045&dev_c621',
  'pci#ven_1095&dev_0640',
  'pci#ven_1095&dev_0646',
  'pci#ven_1095&dev_0648',
  'pci#ven_1095&dev_0649',
  'pci#ven_1097&dev_0038',
  'pci#ven_10ad&dev_0001',
  'pci#ven_10ad&dev_0150',
  'pci#ven_10b9&dev_5215',
  'pci#ven_10b9&dev_5219',
  'pci#ven_10b9&dev_5229',
  'pci#ven_1106&dev_0571',
];
/** Intel chipsets intelide.sys drives; dev_7010 is the PIIX3 QEMU's i440fx machine emulates. */
const INTELIDE_IDS = ['1222', '1230', '2411', '2421', '7010', '7111', '7199'].map((d) => `pci#ven_8086&dev_${d}`);

export const MERGEIDE_KEYS: RegKey[] = [
  ...['primary_ide_channel', 'secondary_ide_channel', '*pnp0600', '*azt0502'].map((id) => cdd(id, 'atapi', HDC_CLASS)),
  cdd('gendisk', 'disk', DISK_CLASS),
  ...PCIIDE_IDS.map((id) => cdd(id, 'pciide', HDC_CLASS)),
  ...INTELIDE_IDS.map((id) => cdd(id, 'intelide', HDC_CLASS)),
  service('atapi', 'atapi.sys', 'SCSI miniport', 'Standard IDE/ESDI Hard Disk Controller'),
  service('IntelIde', 'intelide.sys', 'System Bus Extender', 'Intel IDE Controller'),
  service('PCIIde', 'pciide.sys', 'System Bus Extender', 'Standard Dual Channel PCI IDE Controller'),
];

export type VirtioDriver = 'viostor' | 'vioscsi';

/** viostor/vioscsi for Windows XP–7, whose boot-start drivers are found through the CriticalDeviceDatabase. */
export function virtioKeys(drivers: VirtioDriver[] = ['viostor', 'vioscsi']): RegKey[] {
  const ids: Record<VirtioDriver, string[]> = {
    viostor: ['PCI#VEN_1AF4&DEV_1001&REV_00', 'PCI#VEN_1AF4&DEV_1042&REV_01'],
    vioscsi: ['PCI#VEN_1AF4&DEV_1004&REV_00', 'PCI#VEN_1AF4&DEV_1048&REV_01'],
  };
  const names: Record<VirtioDriver, string> = { viostor: 'Red Hat VirtIO SCSI controller', vioscsi: 'Red Hat VirtIO SCSI pass-through controller' };
  return drivers.flatMap((d) => [...ids[d].map((id) => cdd(id, d, SCSI_CLASS)), service(d, `${d}.sys`, 'SCSI miniport', names[d])]);
}

// ---------------------------------------------------------------------------------------------
// Rendering

function utf16Hex(text: string): string {
  const bytes: string[] = [];
  for (const ch of `${text}\u0000`) {
    const c = ch.charCodeAt(0);
    bytes.push((c & 0xff).toString(16).padStart(2, '0'), (c >> 8).toString(16).padStart(2, '0'));
  }
  return bytes.join(',');
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderValue(v: RegValue): string {
  const name = v.name === '' ? '@' : quote(v.name);
  switch (v.type) {
    case 'sz':
      return `${name}=${quote(v.data)}`;
    case 'expand_sz':
      return `${name}=hex(2):${utf16Hex(v.data)}`;
    case 'dword':
      return `${name}=dword:${(v.data >>> 0).toString(16).padStart(8, '0')}`;
    case 'raw':
      return `${name}=${v.kind === 3 ? 'hex' : `hex(${v.kind.toString(16)})`}:${v.hex}`;
  }
}

/** A .reg file regedit and hivexregedit both read; CRLF as Windows writes them. */
export function renderReg(sections: RegSection[], eol = '\r\n'): string {
  const lines = ['Windows Registry Editor Version 5.00', ''];
  for (const s of sections) lines.push(`[${s.path}]`, ...s.values.map(renderValue), '');
  return lines.join(eol);
}

/** For regedit inside the running guest, where CurrentControlSet points at the active set. */
export function inGuestReg(keys: RegKey[] = MERGEIDE_KEYS): string {
  return renderReg(keys.map((k) => ({ path: [HKLM_SYSTEM, 'CurrentControlSet', ...k.path].join('\\'), values: k.values })));
}

export const CONTROL_SET_RE = /^ControlSet\d{3}$/;

/**
 * One control set's .reg for `hivexregedit --merge --prefix HKEY_LOCAL_MACHINE\SYSTEM`: every
 * ancestor key gets its own (empty) section before its first child, since hivexregedit creates a
 * key only when its parent exists. An empty section of an existing key changes nothing.
 */
export function controlSetSections(keys: RegKey[], controlSet: string): RegSection[] {
  if (!CONTROL_SET_RE.test(controlSet)) {
    throw new UserError(`"${controlSet}" is not a control set name.`, 'Control sets are named ControlSet001, ControlSet002…; CurrentControlSet does not exist in an offline hive.');
  }
  const seen = new Set<string>();
  const out: RegSection[] = [];
  const add = (parts: string[], values: RegValue[]) => {
    const path = [HKLM_SYSTEM, controlSet, ...parts].join('\\');
    const id = path.toLowerCase();
    if (seen.has(id)) {
      const existing = out.find((s) => s.path.toLowerCase() === id);
      if (existing) existing.values.push(...values);
      return;
    }
    seen.add(id);
    out.push({ path, values: [...values] });
  };
  add([], []);
  for (const k of keys) {
    for (let i = 1; i < k.path.length; i++) add(k.path.slice(0, i), []);
    add(k.path, k.values);
  }
  return out;
}

export function controlSetReg(keys: RegKey[], controlSet: string): string {
  return renderReg(controlSetSections(keys, controlSet));
}

// ---------------------------------------------------------------------------------------------
// Parsing (the inverse; also reads hivexregedit --export)

function unquote(text: string, line: number): { value: string; rest: string } {
  if (!text.startsWith('"')) throw new UserError(`Line ${line} of the .reg file has a value name without quotes.`, 'Write value names as "Name"=…');
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      out += text[++i];
    } else if (c === '"') {
      return { value: out, rest: text.slice(i + 1) };
    } else out += c;
  }
  throw new UserError(`Line ${line} of the .reg file has an unterminated string.`, 'Close the quote at the end of the value.');
}

function decodeUtf16(hex: string): string {
  const bytes = hex.split(',').filter(Boolean).map((b) => Number.parseInt(b, 16));
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode((bytes[i] as number) | ((bytes[i + 1] as number) << 8));
  return s.replace(/\u0000+$/, '');
}

function parseData(name: string, data: string, line: number): RegValue {
  if (data.startsWith('"')) return { name, type: 'sz', data: unquote(data, line).value };
  const dword = data.match(/^dword:([0-9a-fA-F]{1,8})$/);
  if (dword) return { name, type: 'dword', data: Number.parseInt(dword[1] as string, 16) };
  const hex = data.match(/^hex(?:\(([0-9a-fA-F]+)\))?:([0-9a-fA-F,\s]*)$/);
  if (hex) {
    const kind = hex[1] === undefined ? 3 : Number.parseInt(hex[1], 16);
    const bytes = (hex[2] as string).replace(/\s+/g, '').toLowerCase();
    if (kind === 1) return { name, type: 'sz', data: decodeUtf16(bytes) };
    if (kind === 2) return { name, type: 'expand_sz', data: decodeUtf16(bytes) };
    if (kind === 4 && bytes.split(',').length === 4) {
      const b = bytes.split(',').map((x) => Number.parseInt(x, 16));
      return { name, type: 'dword', data: ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0 };
    }
    return { name, type: 'raw', kind, hex: bytes };
  }
  throw new UserError(`Line ${line} of the .reg file has a value virtdeck cannot read: ${data.slice(0, 40)}.`, 'Use "text", dword:XXXXXXXX or hex(N):bytes.');
}

/** Sections in file order; `\` continuation lines are joined, `;` comments skipped. */
export function parseReg(text: string): RegSection[] {
  const raw = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = raw.findIndex((l) => l.trim() !== '');
  if (header < 0 || !/^(Windows Registry Editor Version 5\.00|REGEDIT4)$/.test((raw[header] as string).trim())) {
    throw new UserError('This is not a .reg file: the first line is not "Windows Registry Editor Version 5.00".', 'Give a file exported by regedit or hivexregedit.');
  }
  const sections: RegSection[] = [];
  let current: RegSection | null = null;
  for (let i = header + 1; i < raw.length; i++) {
    let line = (raw[i] as string).trim();
    const lineNo = i + 1;
    while (/=hex/.test(line) && line.endsWith('\\') && i + 1 < raw.length) {
      line = line.slice(0, -1) + (raw[++i] as string).trim();
    }
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new UserError(`Line ${lineNo} of the .reg file has an unclosed key name.`, 'End the key line with ].');
      current = { path: line.slice(1, -1), values: [] };
      sections.push(current);
      continue;
    }
    if (!current) throw new UserError(`Line ${lineNo} of the .reg file has a value before any key.`, 'Put a [KEY] line before the values.');
    let name: string;
    let rest: string;
    if (line.startsWith('@=')) {
      name = '';
      rest = line.slice(1);
    } else {
      const q = unquote(line, lineNo);
      name = q.value;
      rest = q.rest;
    }
    if (!rest.startsWith('=')) throw new UserError(`Line ${lineNo} of the .reg file has no "=" after the value name.`, 'Write values as "Name"=data.');
    current.values.push(parseData(name, rest.slice(1).trim(), lineNo));
  }
  return sections;
}

// ---------------------------------------------------------------------------------------------
// What a merge changes, and whether it happened

export function sameValue(a: RegValue, b: RegValue): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'raw' && b.type === 'raw') return a.kind === b.kind && a.hex === b.hex;
  return (a as { data: unknown }).data === (b as { data: unknown }).data;
}

export function describeValue(v: RegValue): string {
  switch (v.type) {
    case 'sz':
      return `"${v.data}"`;
    case 'expand_sz':
      return `"${v.data}" (expandable)`;
    case 'dword':
      return String(v.data);
    case 'raw':
      return `hex(${v.kind}) ${v.hex.length > 23 ? `${v.hex.slice(0, 23)}…` : v.hex}`;
  }
}

export interface RegChange {
  controlSet: string;
  /** Relative to the control set, backslash-joined. */
  key: string;
  kind: 'key-added' | 'value-added' | 'value-changed';
  value?: string;
  before?: string;
  after?: string;
}

/** Registry paths compare without case, as Windows does. */
function indexSections(sections: RegSection[], controlSet: string): Map<string, RegSection> {
  const prefix = `${HKLM_SYSTEM}\\${controlSet}\\`.toLowerCase();
  const map = new Map<string, RegSection>();
  for (const s of sections) {
    const p = s.path.toLowerCase();
    if (p.startsWith(prefix)) map.set(p.slice(prefix.length), s);
  }
  return map;
}

/** What merging `keys` into `controlSet` changes, given an export (with the HKLM\SYSTEM prefix) of its current state. */
export function plannedChanges(keys: RegKey[], controlSet: string, current: RegSection[]): RegChange[] {
  const have = indexSections(current, controlSet);
  const changes: RegChange[] = [];
  const added = new Set<string>();
  for (const k of keys) {
    for (let i = 1; i <= k.path.length; i++) {
      const rel = k.path.slice(0, i).join('\\');
      if (!have.has(rel.toLowerCase()) && !added.has(rel.toLowerCase())) {
        added.add(rel.toLowerCase());
        changes.push({ controlSet, key: rel, kind: 'key-added' });
      }
    }
    const key = k.path.join('\\');
    const existing = have.get(key.toLowerCase());
    for (const v of k.values) {
      const old = existing?.values.find((x) => x.name.toLowerCase() === v.name.toLowerCase());
      if (!old) changes.push({ controlSet, key, kind: 'value-added', value: v.name, after: describeValue(v) });
      else if (!sameValue(old, v)) changes.push({ controlSet, key, kind: 'value-changed', value: v.name, before: describeValue(old), after: describeValue(v) });
    }
  }
  return changes;
}

/** Values of `keys` missing or different in an export taken after the merge (empty: all there). */
export function missingAfterMerge(keys: RegKey[], controlSet: string, after: RegSection[]): string[] {
  const have = indexSections(after, controlSet);
  const missing: string[] = [];
  for (const k of keys) {
    const key = k.path.join('\\');
    const s = have.get(key.toLowerCase());
    if (!s) {
      missing.push(`${controlSet}\\${key}`);
      continue;
    }
    for (const v of k.values) {
      const got = s.values.find((x) => x.name.toLowerCase() === v.name.toLowerCase());
      if (!got || !sameValue(got, v)) missing.push(`${controlSet}\\${key}\\${v.name}`);
    }
  }
  return missing;
}

/** `Select\Current` from an export of the Select key. */
export function selectCurrent(sections: RegSection[]): number | null {
  const select = sections.find((s) => /\\?select$/i.test(s.path));
  const v = select?.values.find((x) => x.name.toLowerCase() === 'current');
  return v?.type === 'dword' ? v.data : null;
}

export function controlSetName(n: number): string {
  return `ControlSet${String(n).padStart(3, '0')}`;
}

/**
 * What a merge adds to one control set, counted once for the review and the run's step titles, so
 * both say the same numbers: keys the hive lacks (parents included), values added or changed.
 */
export function changeCounts(changes: RegChange[], controlSet: string): { keys: number; values: number } {
  const mine = changes.filter((c) => c.controlSet === controlSet);
  const keys = mine.filter((c) => c.kind === 'key-added').length;
  return { keys, values: mine.length - keys };
}

/** "35 keys and 12 values" as a count of a control set's changes. */
export function changeCountText(changes: RegChange[], controlSet: string): string {
  const { keys, values } = changeCounts(changes, controlSet);
  return `${countOf(keys, 'key')} and ${countOf(values, 'value')}`;
}

/** Human lines for a change list, grouped per control set; compact: counts and changed values only. */
export function describeChanges(changes: RegChange[], controlSets: string[], opts: { compact?: boolean } = {}): string[] {
  const lines: string[] = [];
  for (const cs of controlSets) {
    const mine = changes.filter((c) => c.controlSet === cs);
    const { keys, values } = changeCounts(changes, cs);
    lines.push(mine.length === 0 ? `${cs}: already has every key and value; nothing changes` : `${cs}: ${countOf(keys, 'key')} added, ${countOf(values, 'value')} added or changed`);
    for (const c of mine) {
      if (opts.compact && c.kind !== 'value-changed') continue;
      if (c.kind === 'key-added') lines.push(`  + key   ${c.key}`);
      else if (c.kind === 'value-added') lines.push(`  + value ${c.key}\\${c.value} = ${c.after}`);
      else lines.push(`  ~ value ${c.key}\\${c.value}: ${c.before} → ${c.after}`);
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The in-guest kit (ISO contents)

const BAT_LINES = [
  '@echo off',
  'rem MergeIDE, written by virtdeck (Microsoft KB314082).',
  'echo This adds the standard IDE drivers (atapi, intelide, pciide) to the drivers',
  'echo Windows loads at boot (the CriticalDeviceDatabase), so this Windows can start',
  'echo from the IDE disk of its new hypervisor (QEMU/KVM).',
  'echo.',
  'regedit /s "%~dp0mergeide.reg"',
  'reg query "HKLM\\SYSTEM\\CurrentControlSet\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_7010" >nul 2>&1',
  'if errorlevel 1 goto failed',
  'echo Done: the IDE driver entries are now in the registry.',
  'echo Next: uninstall VMware Tools if they are installed, then shut Windows down',
  'echo and move the disk to the new hypervisor.',
  'pause',
  'goto :eof',
  ':failed',
  'echo The registry entries could not be confirmed. Log on as an administrator',
  'echo and run mergeide.bat again.',
  'pause',
];

/** The batch file on the ISO; CRLF, as cmd.exe expects. */
export const MERGEIDE_BAT = `${BAT_LINES.join('\r\n')}\r\n`;

/** What the admin does with the ISO, on the wizard's last screen and in README.txt on the ISO. */
export const IN_GUEST_STEPS = [
  'Do this inside Windows while it still runs on the old hypervisor (or the old hardware):',
  '1. Uninstall VMware Tools (Control Panel, Add or Remove Programs) and restart if asked.',
  '2. Insert the MERGEIDE CD (or copy mergeide.bat and mergeide.reg to the desktop).',
  '3. Run mergeide.bat as an administrator; it says "Done" when the entries are in place.',
  '4. Shut Windows down. That is its last shutdown there: the next start is on QEMU/KVM,',
  '   with the disk on the IDE bus.',
];

export function inGuestReadme(): string {
  return `${['MergeIDE (virtdeck)', '', ...IN_GUEST_STEPS, ''].join('\r\n')}`;
}
