/**
 * The settings form as data: fields built from a guest's XML settings, and the edits they turn
 * into. Pure, so a bad MAC or port is caught here (UserError) before anything reaches libvirt.
 */
import {
  attachIso,
  type DomainDoc,
  type DomainSettings,
  ejectCdrom,
  getSettings,
  setBootOrder,
  setDiskBus,
  setMac,
  setMemory,
  setVcpus,
  setVnc,
} from '../model/domainXml.js';
import { formatBytes, parseSize } from '../model/units.js';
import { UserError } from '../model/userError.js';

export type FieldKind = 'text' | 'choice' | 'macgen';

export interface FormField {
  id: string;
  label: string;
  kind: FieldKind;
  value: string;
  original: string;
  options?: string[];
  /** One line shown when the field has focus. */
  help: string;
  nicIndex?: number;
  target?: string;
}

const BOOT_CHOICES = ['hd,cdrom', 'cdrom,hd', 'hd', 'cdrom', 'network,hd'];
const DISK_BUSES = ['virtio', 'sata', 'scsi', 'ide'];
const CDROM_BUSES = ['sata', 'scsi', 'ide'];

function field(f: Omit<FormField, 'original'>): FormField {
  return { ...f, original: f.value };
}

export function buildSettingsForm(settings: DomainSettings, autostart: boolean): FormField[] {
  const fields: FormField[] = [
    field({ id: 'memory', label: 'Memory', kind: 'text', value: formatBytes(settings.memoryKiB * 1024), help: 'Size with a unit: 512M, 2G (powers of 1024).' }),
    field({ id: 'vcpus', label: 'vCPUs', kind: 'text', value: String(settings.vcpus), help: 'A whole number, e.g. 2.' }),
  ];
  for (const nic of settings.nics) {
    const where = [nic.type, nic.source].filter(Boolean).join(' ');
    fields.push(
      field({ id: `mac:${nic.index}`, label: `MAC ${nic.index} (${where})`.slice(0, 24), kind: 'text', value: nic.mac ?? '', nicIndex: nic.index, help: 'Six hex pairs, e.g. 52:54:00:12:34:56. Keep the old MAC when moving a Windows guest.' }),
      field({ id: `macgen:${nic.index}`, label: '  generate', kind: 'macgen', value: '', nicIndex: nic.index, help: 'k: new 52:54:00 (KVM) address   w: new 00:50:56 (VMware) address' }),
    );
  }
  fields.push(
    field({ id: 'vncPort', label: 'VNC port', kind: 'text', value: settings.vnc ? String(settings.vnc.port) : 'none', help: "'auto', or a port from 5900 (5901 is display :1)." }),
    field({ id: 'vncListen', label: 'VNC listen', kind: 'text', value: settings.vnc?.listen ?? '', help: '127.0.0.1 keeps VNC reachable only through an SSH tunnel.' }),
  );
  const boot = settings.bootOrder.join(',') || 'hd';
  fields.push(
    field({ id: 'boot', label: 'Boot order', kind: 'choice', value: boot, options: BOOT_CHOICES.includes(boot) ? BOOT_CHOICES : [boot, ...BOOT_CHOICES], help: 'Space or Left/Right to choose.' }),
  );
  const cdrom = settings.disks.find((d) => d.device === 'cdrom');
  fields.push(
    field({ id: 'iso', label: 'ISO', kind: 'text', value: cdrom?.source ?? '', target: cdrom?.target, help: 'Absolute path of an ISO to insert; empty ejects it.' }),
  );
  for (const disk of settings.disks) {
    if (disk.device !== 'disk' && disk.device !== 'cdrom') continue;
    const options = disk.device === 'cdrom' ? CDROM_BUSES : DISK_BUSES;
    fields.push(
      field({ id: `bus:${disk.target}`, label: `Bus ${disk.target}`, kind: 'choice', value: disk.bus, options: options.includes(disk.bus) ? options : [disk.bus, ...options], target: disk.target, help: 'A Windows guest needs the driver for the new bus installed first.' }),
    );
  }
  fields.push(field({ id: 'autostart', label: 'Autostart', kind: 'choice', value: autostart ? 'yes' : 'no', options: ['yes', 'no'], help: 'Start the guest when the host boots.' }));
  return fields;
}

export function cycleChoice(f: FormField, step: 1 | -1): FormField {
  const options = f.options ?? [];
  if (options.length === 0) return f;
  const i = options.indexOf(f.value);
  const next = options[(i + step + options.length) % options.length] ?? f.value;
  return { ...f, value: next };
}

export interface SettingsEdit {
  doc: DomainDoc;
  /** The new autostart setting, or null when unchanged (it is not part of the XML). */
  autostart: boolean | null;
  changes: string[];
}

function parseMemoryKiB(text: string): number {
  const size = parseSize(text);
  if (size.relative) throw new UserError(`"${text}" is relative; memory needs a total size.`, 'Write the whole amount, e.g. 1G.');
  return Math.round(size.bytes / 1024);
}

function parseVcpus(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UserError(`"${text}" is not a number of vCPUs.`, 'Give a whole number, e.g. 2.');
  return Number(text.trim());
}

function parseVncPort(text: string): number | 'auto' {
  const t = text.trim().toLowerCase();
  if (t === 'auto') return 'auto';
  if (!/^\d+$/.test(t)) throw new UserError(`"${text}" is not a VNC port.`, "Give 'auto' or a port from 5900 to 65535.");
  return Number(t);
}

/** Applies every changed field in a fixed order; the first bad value throws and nothing is applied. */
export function applySettingsForm(original: DomainDoc, fields: FormField[]): SettingsEdit {
  let doc = original;
  const changes: string[] = [];
  let autostart: boolean | null = null;
  const changed = fields.filter((f) => f.kind !== 'macgen' && f.value.trim() !== f.original.trim());
  const get = (id: string) => changed.find((f) => f.id === id);
  const memory = get('memory');
  if (memory) {
    doc = setMemory(doc, parseMemoryKiB(memory.value));
    changes.push(`memory ${memory.original} → ${memory.value}`);
  }
  const vcpus = get('vcpus');
  if (vcpus) {
    doc = setVcpus(doc, parseVcpus(vcpus.value));
    changes.push(`vCPUs ${vcpus.original} → ${vcpus.value}`);
  }
  for (const f of changed.filter((c) => c.id.startsWith('mac:'))) {
    doc = setMac(doc, f.nicIndex ?? 0, f.value.trim());
    changes.push(`MAC ${f.nicIndex} → ${f.value.trim()}`);
  }
  const port = get('vncPort');
  const listen = get('vncListen');
  if (port || listen) {
    const portText = (port ?? fields.find((f) => f.id === 'vncPort'))?.value ?? 'auto';
    if (portText.trim().toLowerCase() === 'none') {
      throw new UserError('Removing the VNC display is not done in this form.', "Press x to edit the XML and delete the <graphics type='vnc'> element.");
    }
    const listenText = (listen ?? fields.find((f) => f.id === 'vncListen'))?.value.trim() ?? '';
    doc = setVnc(doc, { port: parseVncPort(portText), ...(listenText ? { listen: listenText } : {}) });
    changes.push(`VNC ${portText}${listenText ? ` on ${listenText}` : ''}`);
  }
  const boot = get('boot');
  if (boot) {
    doc = setBootOrder(doc, boot.value.split(','));
    changes.push(`boot order ${boot.value}`);
  }
  const iso = get('iso');
  if (iso) {
    // Eject first: attachIso fills an empty drive, so a drive holding another ISO must be emptied.
    if (iso.original && iso.target) doc = ejectCdrom(doc, iso.target);
    if (iso.value.trim()) doc = attachIso(doc, iso.value.trim());
    changes.push(iso.value.trim() ? `ISO ${iso.value.trim()}` : 'eject ISO');
  }
  // Bus changes rename targets, so they come after every edit that finds a disk by target.
  for (const f of changed.filter((c) => c.id.startsWith('bus:'))) {
    doc = setDiskBus(doc, f.target ?? '', f.value);
    changes.push(`${f.target} on ${f.value}`);
  }
  const auto = get('autostart');
  if (auto) {
    autostart = auto.value === 'yes';
    changes.push(`autostart ${auto.value}`);
  }
  return { doc, autostart, changes };
}

export function settingsOf(doc: DomainDoc): DomainSettings {
  return getSettings(doc);
}
