/**
 * The settings form (e) as a Form (store/form.ts): its fields are built from a guest's XML
 * settings, and its changed fields become guest edits (model/guestEdits.ts, the rules the CLI's
 * `guest edit` flags use too). Pure: a bad MAC or port is refused here, on its field, before
 * anything reaches libvirt.
 */
import { type DomainDoc, type DomainSettings, getSettings } from '../model/domainXml.js';
import { apply, autostartOf, describe, type Edit, formEdits, inOrder, settingsValues } from '../model/guestEdits.js';
import { type ChoiceOption, type Field, type Form, formValues, makeForm } from './form.js';

const BOOT_CHOICES = ['hd,cdrom', 'cdrom,hd', 'hd', 'cdrom', 'network,hd'];
const DISK_BUSES = ['virtio', 'sata', 'scsi', 'ide'];
const CDROM_BUSES = ['sata', 'scsi', 'ide'];

/** The id of the Save row (Enter on it shows the diff). */
export const SAVE_FIELD = 'save';

const choices = (value: string, options: string[]): ChoiceOption[] => (options.includes(value) ? options : [value, ...options]).map((o) => ({ value: o, label: o }));

/** `guestAgent`: the guest has the agent's channel (model/domainXml hasGuestAgentChannel). */
export function buildSettingsForm(settings: DomainSettings, autostart: boolean, guestAgent = false): Form {
  const v: Record<string, string> = { ...settingsValues(settings, autostart), guestAgent: guestAgent ? 'yes' : 'no' };
  const text = (id: string, label: string, help: string): Field => ({ id, label, kind: 'text', value: v[id] ?? '', help });
  const choice = (id: string, label: string, options: string[], help: string): Field => ({ id, label, kind: 'choice', value: v[id] ?? '', options: choices(v[id] ?? '', options), help });
  const fields: Field[] = [text('memory', 'Memory', 'Size with a unit: 512M, 2G (powers of 1024).'), text('vcpus', 'vCPUs', 'A whole number, e.g. 2.')];
  for (const nic of settings.nics) {
    const where = [nic.type, nic.source].filter(Boolean).join(' ');
    fields.push(
      { ...text(`mac:${nic.index}`, `MAC ${nic.index} (${where})`.slice(0, 24), 'Six hex pairs, e.g. 52:54:00:12:34:56. Keep the old MAC when moving a Windows guest.') },
      { id: `macgen:${nic.index}`, label: '  generate', kind: 'action', value: 'k: 52:54:00 (KVM)   w: 00:50:56 (VMware)', actionScope: 'form:macgen', help: 'k: new 52:54:00 (KVM) address   w: new 00:50:56 (VMware) address' },
    );
  }
  fields.push(
    text('vncPort', 'VNC port', "'auto', or a port from 5900 (5901 is display :1)."),
    text('vncListen', 'VNC listen', '127.0.0.1 keeps VNC reachable only through an SSH tunnel.'),
    choice('boot', 'Boot order', BOOT_CHOICES, 'Space or Left/Right to choose.'),
    text('iso', 'ISO', 'Absolute path of an ISO to insert; empty ejects it.'),
  );
  for (const disk of settings.disks) {
    if (disk.device !== 'disk' && disk.device !== 'cdrom') continue;
    fields.push(choice(`bus:${disk.target}`, `Bus ${disk.target}`, disk.device === 'cdrom' ? CDROM_BUSES : DISK_BUSES, 'A Windows guest needs the driver for the new bus installed first.'));
  }
  fields.push(
    choice('guestAgent', 'Guest agent', ['yes', 'no'], 'yes adds the org.qemu.guest_agent.0 channel; then install qemu-guest-agent in the guest.'),
    choice('autostart', 'Autostart', ['yes', 'no'], 'Start the guest when the host boots.'),
    { id: SAVE_FIELD, label: '[ Save: show the changes ]', kind: 'action', value: '', actionScope: 'dialog:settings-save', help: 'Enter shows the XML diff before anything is applied.' },
  );
  return makeForm(fields);
}

/** The NIC a MAC generator row fills. */
export function macFieldOf(field: Field): string | null {
  const m = /^macgen:(\d+)$/.exec(field.id);
  return m ? `mac:${m[1]}` : null;
}

export interface SettingsEdit {
  doc: DomainDoc;
  edits: Edit[];
  /** The new autostart setting, or null when unchanged (it is not part of the XML). */
  autostart: boolean | null;
  changes: string[];
}

/** The form's changes made to the guest; the first bad value throws an EditRefusal naming its field, and nothing is applied. */
export function applySettingsForm(original: DomainDoc, form: Form): SettingsEdit {
  const settings = getSettings(original);
  const opened = Object.fromEntries(form.fields.map((f) => [f.id, f.original ?? f.value]));
  const edits = formEdits(settings, formValues(form), opened);
  const doc = apply(original, edits);
  return { doc, edits, autostart: autostartOf(edits), changes: inOrder(edits).map(describe) };
}
