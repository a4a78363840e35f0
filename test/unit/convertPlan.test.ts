import { describe, expect, it } from 'vitest';
import {
  type ConvertFacts,
  ConvertRefusal,
  type ConvertRequest,
  type ConvertSource,
  checkConvert,
  convertSteps,
  customTarget,
  defaultDest,
  destFiles,
  PRESETS,
  parseOptionText,
  planConvert,
  presetById,
  repointXml,
  targetFrom,
  tempDirFor,
} from '../../src/model/convertPlan.js';
import { describePlan, planScript } from '../../src/model/plan.js';
import { UserError } from '../../src/model/userError.js';

const GIB = 1024 ** 3;
const src = (over: Partial<ConvertSource> = {}): ConvertSource => ({
  path: '/srv/vm/web.raw',
  format: 'raw',
  virtualSize: 20 * GIB,
  users: [{ guest: 'web', target: 'hda', state: 'shut off' }],
  ...over,
});
const facts = (over: Partial<ConvertFacts> = {}): ConvertFacts => ({
  sourceReadable: true,
  existing: [],
  destDirExists: true,
  freeBytes: 100 * GIB,
  requiredBytes: 3 * GIB,
  ...over,
});
const XML = `<domain type='qemu'>
  <name>web</name>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/srv/vm/web.raw'/><target dev='hda' bus='ide'/><address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>
  </devices>
</domain>`;
const OPTS = { uri: 'qemu:///system', xmlFile: '/tmp/vd.xml' };

describe('presets', () => {
  it('has the four round-trip targets with the options the seed uses', () => {
    expect(PRESETS.map((p) => p.to)).toEqual(['vmdk', 'vmdk-flat', 'raw', 'qcow2']);
    expect(presetById('vmdk').target.options).toEqual({ subformat: 'monolithicSparse', compat6: 'on', adapter_type: 'lsilogic' });
    expect(presetById('vmdk-flat').target.options.subformat).toBe('monolithicFlat');
    expect(presetById('raw').target.flags).toEqual(['-S', '4k']);
    expect(presetById('qcow2').target.options).toEqual({ compat: '1.1' });
    expect(() => presetById('vhd9')).toThrow(UserError);
  });

  it('parses and validates custom options', () => {
    expect(parseOptionText('subformat=monolithicFlat,compat6')).toEqual({ subformat: 'monolithicFlat', compat6: 'on' });
    expect(parseOptionText('a=x,,y')).toEqual({ a: 'x,y' });
    expect(customTarget('vmdk', 'adapter_type=ide').options).toEqual({ adapter_type: 'ide' });
    expect(() => customTarget('vmdk', 'cluster_size=64k')).toThrow(/not an option of the vmdk format/);
    expect(() => customTarget('vmdk', 'compat6,hwversion=7')).toThrow(/together/);
    expect(() => customTarget('zip')).toThrow(/cannot convert to "zip"/);
    expect(targetFrom('vmdk', 'adapter_type=ide').options).toEqual({ subformat: 'monolithicSparse', compat6: 'on', adapter_type: 'ide' });
    expect(targetFrom('vmdk', 'hwversion=4').options.compat6).toBeUndefined();
  });

  it('names destinations beside the source, with the flat extent and the temp dir', () => {
    expect(defaultDest('/srv/vm/web.raw', presetById('vmdk').target)).toBe('/srv/vm/web.vmdk');
    expect(defaultDest('/srv/vm/web.vmdk', presetById('vmdk-flat').target)).toBe('/srv/vm/web-new.vmdk');
    expect(destFiles('/srv/vm/web.vmdk', presetById('vmdk-flat').target)).toEqual(['/srv/vm/web.vmdk', '/srv/vm/web-flat.vmdk']);
    expect(destFiles('/srv/vm/web.vmdk', presetById('vmdk').target)).toEqual(['/srv/vm/web.vmdk']);
    expect(tempDirFor('/srv/vm/web.vmdk')).toBe('/srv/vm/.web.vmdk.virtdeck-tmp');
  });
});

describe('plans', () => {
  const req = (over: Partial<ConvertRequest> = {}): ConvertRequest => ({ source: src(), target: presetById('vmdk').target, ...over });

  it.each(PRESETS.map((p) => [p.to]))('%s: temp dir, convert, compare, place, drop temp', (to) => {
    const target = presetById(to).target;
    const source = to === 'raw' ? src({ path: '/srv/vm/web.qcow2', format: 'qcow2', options: { compat: '0.10' } }) : src();
    const plan = planConvert(req({ target, source }), facts(), OPTS);
    expect(plan.kind).toBe('convert');
    expect(plan.steps.map((s) => s.id)).toEqual(['tempdir', 'convert', 'compare', 'place', 'droptemp']);
    const convert = plan.steps[1]?.command?.argv ?? [];
    expect(convert.slice(3, 11)).toContain('qemu-img');
    expect(convert).toContain('-p');
    expect(convert.join(' ')).toContain(`-O ${target.format}`);
    const tmpImage = convert[convert.length - 1] as string;
    expect(tmpImage.startsWith(tempDirFor(destFiles(defaultDest(source.path, target), target)[0] as string))).toBe(true);
    expect(plan.steps[2]?.command?.argv.slice(-2)).toEqual([source.path, tmpImage]);
    expect(plan.steps[1]?.undo?.partial).toBe(true);
    expect(plan.steps[1]?.progress?.totalBytes).toBe(20 * GIB);
  });

  it('shows the vmdk options exactly and places both files of a flat vmdk', () => {
    const plan = planConvert(req({ target: presetById('vmdk-flat').target }), facts(), OPTS);
    const lines = describePlan(plan);
    expect(lines[1]).toContain('-o subformat=monolithicFlat,compat6=on,adapter_type=lsilogic');
    expect(plan.steps[3]?.command?.argv).toEqual(['ln', '--', '/srv/vm/.web.vmdk.virtdeck-tmp/web.vmdk', '/srv/vm/.web.vmdk.virtdeck-tmp/web-flat.vmdk', '/srv/vm']);
    expect(planScript(plan)).toContain('qemu-img compare');
  });

  it('repoints the guest (source, driver, bus) and removes the original last', () => {
    const plan = planConvert(req({ repoint: { guest: 'web', target: 'hda', bus: 'scsi' }, keepOriginal: false }), facts({ guestXml: XML }), OPTS);
    expect(plan.steps.map((s) => s.id)).toEqual(['tempdir', 'convert', 'compare', 'place', 'repoint', 'remove-original', 'droptemp']);
    const rp = plan.steps[4];
    expect(rp?.command?.argv).toEqual(['virsh', '-c', 'qemu:///system', 'define', '--validate', '--file', '/tmp/vd.xml']);
    expect(rp?.writesFile?.content).toContain("file='/srv/vm/web.vmdk'");
    expect(rp?.writesFile?.content).toMatch(/<driver name='qemu' type='vmdk'\/>/);
    expect(rp?.writesFile?.content).toMatch(/bus='scsi'/);
    expect(rp?.undo?.action?.name).toBe('convert.restoreXml');
    expect(plan.steps[5]?.command?.argv).toEqual(['rm', '-f', '--', '/srv/vm/web.raw']);
    expect(plan.targets.guests).toEqual(['web']);
  });

  it('repointXml refuses a disk that is not this image', () => {
    expect(() => repointXml(XML, { guest: 'web', target: 'hdb' }, '/x.vmdk', 'vmdk', '/srv/vm/web.raw')).toThrow(/no disk "hdb"/);
    expect(() => repointXml(XML, { guest: 'web', target: 'hda' }, '/x.vmdk', 'vmdk', '/other.raw')).toThrow(/is not the file/);
  });

  it('convertSteps can leave out the compare (bench) and prefix ids (expansion)', () => {
    const steps = convertSteps(src(), presetById('vmdk').target, '/srv/vm/x.vmdk', { compare: false, idPrefix: 'back-' });
    expect(steps.map((s) => s.id)).toEqual(['back-tempdir', 'back-convert', 'back-place']);
  });
});

describe('refusals', () => {
  const target = presetById('vmdk').target;
  const cases: [string, Partial<ConvertRequest>, Partial<ConvertFacts>, RegExp][] = [
    ['missing source', {}, { sourceReadable: false }, /does not exist or cannot be read/],
    ['running guest', { source: src({ users: [{ guest: 'web', target: 'hda', state: 'running' }] }) }, {}, /web is using .* not shut off/],
    ['destination exists', {}, { existing: ['/srv/vm/web.vmdk'] }, /already exists; virtdeck never overwrites/],
    ['flat extent exists', { target: presetById('vmdk-flat').target }, { existing: ['/srv/vm/web-flat.vmdk'] }, /web-flat.vmdk already exists/],
    ['no space', {}, { freeBytes: 1 * GIB, requiredBytes: 3 * GIB }, /has 1(\.0)? ?Gi?B? free, but the new image needs/],
    ['no directory', { dest: '/nope/x.vmdk' }, { destDirExists: false }, /directory of \/nope\/x.vmdk does not exist/],
    ['same format', { target: presetById('raw').target }, {}, /already is raw; there is nothing to convert/],
    ['same vmdk options', { source: src({ path: '/a.vmdk', format: 'vmdk', options: { subformat: 'monolithicSparse', adapter_type: 'lsilogic', hwversion: '6' } }) }, {}, /nothing to convert/],
    ['relative dest', { dest: 'x.vmdk' }, {}, /not an absolute path/],
    ['dest is source', { dest: '/srv/vm/web.raw' }, {}, /is the source itself/],
    ['remove original still in use', { keepOriginal: false }, {}, /still use .* removing it/],
    ['repoint a guest that does not use it', { repoint: { guest: 'db', target: 'vda' } }, {}, /db does not use/],
  ];
  it.each(cases)('%s', (_name, r, f, re) => {
    const c = checkConvert({ source: src(), target, ...r }, facts(f));
    expect(c.refusals.map((e) => e.sentence).join(' | ')).toMatch(re);
    expect(c.refusals.every((e) => e.fix.length > 10)).toBe(true);
    expect(() => planConvert({ source: src(), target, ...r }, facts(f), OPTS)).toThrow(UserError);
  });

  // The wizard shows a refusal on the step of its field: the field is data, never read from the sentence.
  const fields: [string, Partial<ConvertRequest>, Partial<ConvertFacts>, string][] = [
    ['missing source', {}, { sourceReadable: false }, 'source'],
    ['running guest', { source: src({ users: [{ guest: 'web', target: 'hda', state: 'running' }] }) }, {}, 'source'],
    ['destination exists', {}, { existing: ['/srv/vm/web.vmdk'] }, 'dest'],
    ['no space', {}, { freeBytes: 1 * GIB, requiredBytes: 3 * GIB }, 'dest'],
    ['no directory', { dest: '/nope/x.vmdk' }, { destDirExists: false }, 'dest'],
    ['read-only directory', {}, { destDirState: 'read-only' }, 'dest'],
    ['same format', { target: presetById('raw').target }, {}, 'target'],
    ['relative dest', { dest: 'x.vmdk' }, {}, 'dest'],
    ['remove original still in use', { keepOriginal: false }, {}, 'keepOriginal'],
    ['repoint a guest that does not use it', { repoint: { guest: 'db', target: 'vda' } }, {}, 'repoint'],
  ];
  it.each(fields)('%s carries its field', (_name, r, f, field) => {
    const c = checkConvert({ source: src(), target, ...r }, facts(f));
    expect(c.refusals.map((e) => e.field)).toEqual([field]);
  });

  it('a custom target names the field it is wrong in', () => {
    const fieldOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof ConvertRefusal ? e.field : 'not a refusal';
      }
      return 'no refusal';
    };
    expect(fieldOf(() => customTarget('zip'))).toBe('format');
    expect(fieldOf(() => customTarget('vmdk', 'colour=red'))).toBe('options');
    expect(fieldOf(() => customTarget('vmdk', ',x'))).toBe('options');
    expect(fieldOf(() => presetById('nope'))).toBe('target');
  });

  it('warns, not refuses, for a backing file (flattened)', () => {
    const c = checkConvert({ source: src({ backingFile: '/srv/base.qcow2', format: 'qcow2' }), target }, facts());
    expect(c.refusals).toEqual([]);
    expect(c.warnings[0]).toMatch(/flattened/);
  });
});
