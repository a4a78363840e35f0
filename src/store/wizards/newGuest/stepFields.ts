/**
 * The fields of each New guest step as a Form (store/form.ts), and what a changed field brings
 * along: the install kind decides whether a new disk is offered, the disk format keeps a default
 * path's extension in step, a network kind picks its first source, a MAC style a new address. The
 * form is rebuilt from the values after every key, so the fields shown always match the values.
 */
import type { HostFacts } from '../../../jobs/newGuest.js';
import { randomMac } from '../../../model/mac.js';
import { defaultDiskPath, osDefaults } from '../../../model/newGuest.js';
import { type Field, type Form, makeForm } from '../../form.js';
import { applyInstallKind, type NewGuestForm, netSources, osChoice, type StepId } from './newGuestForm.js';

type Facts = Pick<HostFacts, 'bridges' | 'networks'>;

const yesNo = [
  { value: 'yes', label: 'yes' },
  { value: 'no', label: 'no' },
];

function text(values: NewGuestForm, id: keyof NewGuestForm, label: string, hint?: string, placeholder?: string): Field {
  return { id, label, kind: 'text', value: String(values[id]), ...(hint ? { hint } : {}), ...(placeholder ? { placeholder } : {}) };
}

/** The fields a step shows for these values (only the ones that apply: no hidden fields). */
export function fieldsFor(step: StepId, v: NewGuestForm, facts: Facts | null): Field[] {
  switch (step) {
    case 'name':
      return [text(v, 'name', 'Name', 'letters, digits . _ -')];
    case 'resources':
      return [
        text(v, 'memory', 'Memory', 'MiB, or with a unit: 2G'),
        text(v, 'vcpus', 'vCPUs'),
        {
          id: 'firmware',
          label: 'Firmware',
          kind: 'choice',
          value: v.firmware,
          options: [
            { value: 'bios', label: 'BIOS (SeaBIOS)' },
            { value: 'uefi', label: 'UEFI (OVMF)' },
            { value: 'uefi-secure', label: 'UEFI + Secure Boot (Microsoft keys)' },
          ],
        },
        {
          id: 'tpm',
          label: 'TPM',
          kind: 'choice',
          value: v.tpm,
          options: [
            { value: 'no', label: 'none' },
            { value: 'yes', label: 'TPM 2.0 (swtpm)' },
          ],
        },
      ];
    case 'install': {
      const kind: Field = {
        id: 'installKind',
        label: 'Install from',
        kind: 'choice',
        value: v.installKind,
        options: [
          { value: 'iso', label: 'an ISO image (installer CD/DVD)' },
          { value: 'existing', label: 'I have a disk image with an installed system' },
          { value: 'none', label: 'nothing (empty disk; install later or by PXE)' },
        ],
      };
      if (v.installKind === 'iso') return [kind, text(v, 'isoPath', 'ISO image', undefined, '/var/lib/libvirt/images/debian-12.iso')];
      if (v.installKind === 'existing') return [kind, text(v, 'diskPaths', 'Disk images', 'comma between several', '/var/lib/libvirt/images/old.qcow2')];
      return [kind];
    }
    case 'storage': {
      const add: Field = { id: 'newDisk', label: 'New disk', kind: 'choice', value: v.newDisk, options: yesNo };
      if (v.newDisk === 'no') return [add];
      return [
        add,
        {
          id: 'diskFormat',
          label: 'Format',
          kind: 'choice',
          value: v.diskFormat,
          options: [
            { value: 'qcow2', label: 'qcow2 (snapshots, thin)' },
            { value: 'raw', label: 'raw (fastest, no snapshots)' },
          ],
        },
        text(v, 'diskSize', 'Size', 'e.g. 20G'),
        text(v, 'diskPath', 'Location'),
      ];
    }
    case 'network': {
      const fields: Field[] = [
        {
          id: 'netKind',
          label: 'Connect to',
          kind: 'choice',
          value: v.netKind,
          options: [
            { value: 'bridge', label: 'a host bridge (guest on the LAN)' },
            { value: 'network', label: 'a libvirt network' },
            { value: 'user', label: 'user-mode NAT (no setup, no inbound)' },
          ],
        },
      ];
      if (v.netKind !== 'user') {
        const sources = facts ? netSources(v, facts) : [];
        fields.push({
          id: 'netSource',
          label: v.netKind === 'bridge' ? 'Bridge' : 'Network',
          kind: 'choice',
          value: v.netSource,
          options: sources.map((s) => ({ value: s, label: s })),
        });
      }
      const os = osChoice(v.os);
      fields.push(
        {
          id: 'macStyle',
          label: 'MAC style',
          kind: 'choice',
          value: v.macStyle,
          options: [
            { value: 'kvm', label: 'KVM 52:54:00' },
            { value: 'vmware', label: 'VMware 00:50:56' },
          ],
        },
        text(v, 'mac', 'MAC', 'generated; type the old one to keep it'),
        {
          id: 'nicModel',
          label: 'NIC model',
          kind: 'choice',
          value: v.nicModel,
          options: [
            { value: 'default', label: `default for the OS (${osDefaults(os.osType, os.variant).nicModel})` },
            { value: 'virtio', label: 'virtio' },
            { value: 'e1000', label: 'e1000' },
            { value: 'e1000e', label: 'e1000e' },
            { value: 'rtl8139', label: 'rtl8139' },
          ],
        },
      );
      return fields;
    }
    case 'display': {
      const fields: Field[] = [
        {
          id: 'vnc',
          label: 'VNC screen',
          kind: 'choice',
          value: v.vnc,
          options: [
            { value: 'auto', label: 'yes, port chosen at start' },
            { value: 'port', label: 'yes, on a fixed port' },
            { value: 'none', label: 'no screen' },
          ],
        },
      ];
      if (v.vnc === 'port') fields.push(text(v, 'vncPort', 'VNC port', '5900 + display number'));
      if (v.vnc !== 'none') fields.push(text(v, 'listen', 'Listen on', '127.0.0.1: via SSH tunnel only'));
      fields.push({ id: 'serial', label: 'Serial console', kind: 'choice', value: v.serial, options: yesNo });
      return fields;
    }
    default:
      return [];
  }
}

/** The values after field `id` became `value`, with what that choice brings along. */
export function applyChange(v: NewGuestForm, id: string, value: string, facts: Facts | null, rng: () => number = Math.random): NewGuestForm {
  switch (id) {
    case 'installKind':
      return applyInstallKind(v, value as NewGuestForm['installKind']);
    case 'diskFormat': {
      const format = value as NewGuestForm['diskFormat'];
      // Keep the extension in step with the format while the path is still the default.
      const wasDefault = v.diskPath === defaultDiskPath(v.name.trim(), v.diskFormat);
      return { ...v, diskFormat: format, ...(wasDefault ? { diskPath: defaultDiskPath(v.name.trim(), format) } : {}) };
    }
    case 'netKind': {
      const netKind = value as NewGuestForm['netKind'];
      const first = facts ? (netSources({ ...v, netKind }, facts)[0] ?? '') : '';
      return { ...v, netKind, netSource: first };
    }
    case 'macStyle':
      return { ...v, macStyle: value as NewGuestForm['macStyle'], mac: randomMac(value as NewGuestForm['macStyle'], rng) };
    default:
      return id in v ? { ...v, [id]: value } : v;
  }
}

/**
 * The step's form for these values. Given the form before, the focus stays on the same field
 * (or the same place when that field went away) with its cursor and error.
 */
export function stepForm(step: StepId, v: NewGuestForm, facts: Facts | null, before?: Form): Form {
  const fields = fieldsFor(step, v, facts);
  if (!before) return makeForm(fields);
  const id = before.fields[before.focus]?.id;
  const at = fields.findIndex((f) => f.id === id);
  const focus = at >= 0 ? at : Math.min(before.focus, Math.max(0, fields.length - 1));
  const form = makeForm(fields, focus);
  const value = form.fields[form.focus]?.value ?? '';
  return { ...form, cursor: at >= 0 ? Math.min(before.cursor, value.length) : form.cursor, error: before.error };
}
