import { describe, expect, it } from 'vitest';
import { applyEdits, parseEditFlags } from '../../src/cli/commands/editFlags.js';
import { getSettings, parseDomainXml, serializeDomainXml } from '../../src/model/domainXml.js';
import { apply, describe as describeEdit, type Edit, EditRefusal, formatMemory, parseMemory, validate } from '../../src/model/guestEdits.js';
import { UserError } from '../../src/model/userError.js';
import { setField } from '../../src/store/form.js';
import { applySettingsForm, buildSettingsForm } from '../../src/store/settingsForm.js';

const XML = `<domain type='qemu'>
  <name>vm</name>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/x.qcow2'/><target dev='hda' bus='ide'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/srv/old.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='user'><mac address='52:54:00:00:00:01'/><model type='e1000'/></interface>
    <graphics type='vnc' port='5905' autoport='no' listen='127.0.0.1'/>
  </devices>
</domain>
`;

type Outcome = { edits: Edit[]; xml: string } | { refused: { field?: string; sentence: string; fix: string } };

function outcome(run: () => { edits: Edit[]; xml: string }): Outcome {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { refused: { ...(e instanceof EditRefusal ? { field: e.field } : {}), sentence: e.sentence, fix: e.fix } };
  }
}

/** The CLI's answer: flags parsed, then applied to the guest. */
const viaCli = (flags: Parameters<typeof parseEditFlags>[0]) =>
  outcome(() => {
    const doc = parseDomainXml(XML);
    const edits = parseEditFlags(flags);
    return { edits, xml: serializeDomainXml(applyEdits(doc, edits)) };
  });

/** The settings form's answer: the fields typed as given, then saved. */
const viaForm = (values: Record<string, string>) =>
  outcome(() => {
    const doc = parseDomainXml(XML);
    let form = buildSettingsForm(getSettings(doc), false);
    for (const [id, value] of Object.entries(values)) form = setField(form, id, value);
    const edit = applySettingsForm(doc, form);
    return { edits: edit.edits, xml: serializeDomainXml(edit.doc) };
  });

describe('CLI flags and the settings form give the same answer for the same text', () => {
  it.each([
    ['memory', '1G'],
    ['memory', '256M'],
    ['memory', '1.3G'],
    ['memory', '1024'],
    ['memory', '1.5'],
    ['memory', '+1G'],
    ['memory', 'lots'],
    ['memory', '2K'],
    ['vcpus', '2'],
    ['vcpus', 'two'],
    ['vcpus', '1.5'],
    ['vcpus', '0'],
    ['boot', 'cdrom,hd'],
    ['boot', 'floppy'],
  ])('%s %j', (flag, text) => {
    const cli = viaCli({ [flag]: text });
    expect(viaForm({ [flag]: text })).toEqual(cli);
    if ('refused' in cli) expect(cli.refused.field).toBe(flag);
  });

  it.each(['00:50:56:01:02:03', '52-54-00-AA-BB-CC', '52:54:00:zz:00:01', '01:00:5e:00:00:01', 'generate:hyperv'])('MAC %j', (text) => {
    const cli = viaCli({ mac: [text] });
    expect(viaForm({ 'mac:0': text })).toEqual(cli);
    if ('refused' in cli) expect(cli.refused.field).toBe('mac:0');
  });

  it.each(['auto', 'AUTO', '5901', 'five', '80', '70000', 'none'])('VNC port %j', (text) => {
    const cli = viaCli({ vnc: text, listen: '127.0.0.1' });
    expect(viaForm({ vncPort: text })).toEqual(cli);
    if ('refused' in cli) expect(cli.refused.field).toBe('vncPort');
  });

  it.each(['0.0.0.0', '::1', '1.2.3'])('VNC listen %j', (text) => {
    const cli = viaCli({ vnc: '5905', listen: text });
    expect(viaForm({ vncListen: text })).toEqual(cli);
    if ('refused' in cli) expect(cli.refused.field).toBe('vncListen');
  });

  it('a disk bus, an ejected ISO and a swapped ISO', () => {
    expect(viaForm({ 'bus:hda': 'sata' })).toEqual(viaCli({ diskBus: ['hda=sata'] }));
    expect(viaForm({ iso: '' })).toEqual(viaCli({ eject: ['hdc'] }));
    // The swap ejects first in both, whatever order the flags came in: the drive keeps its target.
    const swap = viaForm({ iso: '/srv/new.iso' });
    expect(swap).toEqual(viaCli({ eject: ['hdc'], attachIso: '/srv/new.iso' }));
    expect('xml' in swap && getSettings(parseDomainXml(swap.xml)).disks.filter((d) => d.device === 'cdrom')).toEqual([
      { target: 'hdc', device: 'cdrom', bus: 'ide', source: '/srv/new.iso', format: 'raw' },
    ]);
    expect(viaForm({ iso: 'new.iso' })).toMatchObject({ refused: { field: 'iso', sentence: expect.stringMatching(/not an absolute path/) } });
  });

  it('a bare number of memory is refused with one sentence and a fix, in both', () => {
    expect(viaCli({ memory: '1024' })).toEqual({ refused: { field: 'memory', sentence: 'Memory "1024" has no unit.', fix: 'Add one: 512M or 2G (powers of 1024).' } });
  });
});

describe('the edit model', () => {
  it('applies bus changes last, so an edit that finds a disk by its old target still finds it', () => {
    const doc = parseDomainXml(XML);
    const edits: Edit[] = [
      { kind: 'diskBus', target: 'hdc', bus: 'sata' },
      { kind: 'eject', target: 'hdc' },
    ];
    const s = getSettings(apply(doc, edits));
    expect(s.disks.find((d) => d.device === 'cdrom')).toMatchObject({ target: 'sda', bus: 'sata', source: null });
  });

  it('validate names the field of the edit the guest refuses', () => {
    const doc = parseDomainXml(XML);
    expect(validate(doc, [{ kind: 'memory', kib: 1048576 }])).toBeNull();
    expect(validate(doc, [{ kind: 'mac', index: 3, mac: '52:54:00:00:00:09' }])).toMatchObject({ field: 'mac:3', sentence: expect.stringMatching(/no network interface number 3/) });
    expect(validate(doc, [{ kind: 'diskBus', target: 'hdc', bus: 'virtio' }])).toMatchObject({ field: 'bus:hdc' });
  });

  it('the form writes memory so it parses back to the same KiB', () => {
    for (const kib of [131072, 1572864, 1000000, 4194304, 2048]) {
      expect(parseMemory(formatMemory(kib))).toEqual({ kind: 'memory', kib });
    }
  });

  it('describes the autostart change too (the form sets it with virsh autostart)', () => {
    const doc = parseDomainXml(XML);
    let form = buildSettingsForm(getSettings(doc), false);
    form = setField(form, 'autostart', 'yes');
    const edit = applySettingsForm(doc, form);
    expect(edit.autostart).toBe(true);
    expect(edit.changes).toEqual(['autostart on']);
    expect(serializeDomainXml(edit.doc)).toBe(serializeDomainXml(doc));
    expect(describeEdit({ kind: 'memory', kib: 1048576 })).toBe('memory 1048576 KiB');
  });
});
