import { describe, expect, it } from 'vitest';
import {
  bootSector,
  bootSectorWrites,
  DEFAULT_DEMO_PREFIX,
  DEMO_DISK_ID,
  DEMO_GUESTS,
  DEMO_NS,
  type DemoManifest,
  type DemoObserved,
  demoDomainXml,
  demoGuests,
  demoTree,
  parseDemoPrefix,
  pathsToCheck,
  planDemo,
  planDemoReset,
  readDemoMarker,
} from '../../src/jobs/demoPlan.js';
import { describePlan, type PlanStep } from '../../src/model/plan.js';
import { UserError } from '../../src/model/userError.js';
import { escapeXml } from '../../src/model/xmlText.js';
import { catchUserError } from '../helpers/userError.js';

const DIR = '/var/lib/virtdeck/demo';
const URI = 'qemu:///system';
const FILES = ['demo-web.qcow2', 'demo-files.raw', 'demo-legacy.vmdk'];
const MODES = { '/': '755', '/var': '755', '/var/lib': '755', '/var/lib/virtdeck': '755' };
const MANIFEST: DemoManifest = {
  kind: 'virtdeck-demo',
  version: 1,
  files: FILES,
  guests: ['demo-web', 'demo-files', 'demo-legacy'],
  createdDir: true,
};

function fresh(over: Partial<DemoObserved> = {}): DemoObserved {
  return { uri: URI, guests: [], dirExists: false, files: [], manifest: null, modes: MODES, ...over };
}

/** The demo as ensureDemo leaves it. */
function complete(over: Partial<DemoObserved> = {}): DemoObserved {
  return fresh({
    dirExists: true,
    files: [...FILES, 'virtdeck-demo.json'],
    manifest: MANIFEST,
    guests: [
      { name: 'demo-web', state: 'running', marker: { dir: DIR } },
      { name: 'demo-files', state: 'shut off', marker: { dir: DIR } },
      { name: 'demo-legacy', state: 'shut off', marker: { dir: DIR } },
    ],
    ...over,
  });
}

const XML_DIR = '/tmp/virtdeck-demo-test';
const demoSteps = (obs: DemoObserved, dir = DIR) => planDemo(obs, 'tcg', dir, { xmlDir: XML_DIR }).steps;
const argv = (s: PlanStep | undefined) => s?.command?.argv ?? [];
const titles = (steps: PlanStep[]) => steps.map((s) => s.title);
const verbs = (steps: PlanStep[]) =>
  steps.map((s) => {
    const a = argv(s);
    const at = a.indexOf('virsh');
    return at >= 0 ? `virsh ${a[at + 3]} ${a[at + 4] ?? ''}`.trim() : a[0];
  });

describe('planDemo', () => {
  it('builds everything on an empty host, manifest first', () => {
    const plan = planDemo(fresh(), 'tcg', DIR, { xmlDir: XML_DIR });
    expect(plan.kind).toBe('demo');
    expect(plan.targets).toEqual({
      guests: ['demo-web', 'demo-files', 'demo-legacy'],
      images: FILES.map((f) => `${DIR}/${f}`),
    });
    const steps = plan.steps;
    expect(verbs(steps)).toEqual([
      'mkdir',
      'tee',
      'qemu-img',
      'qemu-io',
      'virsh define --file',
      'virsh start demo-web',
      'qemu-img',
      'qemu-io',
      'sfdisk',
      'mkdir',
      'tee',
      'tee',
      'tee',
      'tee',
      'mke2fs',
      'rm',
      'virsh define --file',
      'qemu-img',
      'qemu-io',
      'virsh define --file',
    ]);
    expect(argv(steps[0])).toEqual(['mkdir', '-p', '-m', '0711', DIR]);
    const manifest = JSON.parse(steps[1]!.command!.input!);
    expect(manifest).toEqual({ ...MANIFEST, createdDir: true });
    expect(argv(steps[1])).toEqual(['tee', `${DIR}/virtdeck-demo.json`]);
    expect(argv(steps.find((s) => argv(s).includes('vmdk')))).toEqual([
      'qemu-img',
      'create',
      '-q',
      '-f',
      'vmdk',
      '-o',
      'subformat=monolithicSparse,adapter_type=lsilogic',
      `${DIR}/demo-legacy.vmdk`,
      '64M',
    ]);
    // virsh define reads a file the runner writes (Node's stdin socket cannot be opened as
    // /dev/stdin); no shell is involved.
    const define = steps.find((s) => argv(s).includes('define'))!;
    expect(define.command).toEqual({ runsOn: 'virsh', argv: ['virsh', '-c', URI, 'define', '--file', `${XML_DIR}/demo-web.xml`] });
    expect(define.writesFile).toEqual({ path: `${XML_DIR}/demo-web.xml`, content: demoDomainXml(DEMO_GUESTS[0]!, 'tcg', DIR) });
    expect(new Set(steps.map((s) => s.id)).size).toBe(steps.length);
    expect(steps.some((s) => s.undo)).toBe(false);
  });

  it('shows mkdtemp\'s template as the XML directory on a dry run', () => {
    expect(describePlan(planDemo(fresh(), 'tcg', DIR))).toContain(
      `5 virsh -c ${URI} define --file /tmp/virtdeck-demo-XXXXXX/demo-web.xml`,
    );
  });

  it('is a no-op when the demo is complete', () => {
    expect(demoSteps(complete())).toEqual([]);
  });

  it('only starts demo-web when someone stopped it, and resumes it when paused', () => {
    const stopped = complete();
    stopped.guests[0]!.state = 'shut off';
    expect(verbs(demoSteps(stopped))).toEqual(['tee', 'virsh start demo-web']);
    stopped.guests[0]!.state = 'paused';
    expect(verbs(demoSteps(stopped))).toEqual(['tee', 'virsh resume demo-web']);
  });

  it('leaves a demo guest the user started running', () => {
    const obs = complete();
    obs.guests[1]!.state = 'running';
    expect(demoSteps(obs)).toEqual([]);
  });

  it('recreates a deleted disk and a deleted guest, nothing else', () => {
    const obs = complete({ files: ['demo-web.qcow2', 'demo-legacy.vmdk', 'virtdeck-demo.json'] });
    obs.guests = obs.guests.filter((g) => g.name !== 'demo-legacy');
    expect(titles(demoSteps(obs))).toEqual([
      "Record the demo's files and guests in virtdeck-demo.json",
      'Create the raw disk demo-files.raw (64M)',
      'Write a boot sector that names the guest into demo-files.raw',
      'Partition demo-files.raw: one Linux partition from 1 MiB to the end',
      'Create the directories of the files to put into demo-files.raw',
      'Write /README.txt for demo-files.raw',
      'Write /etc/hostname for demo-files.raw',
      'Write /srv/files/budget-2026.txt for demo-files.raw',
      'Write /srv/files/minutes/2026-11-01.txt for demo-files.raw',
      'Make an ext4 filesystem with those files in the partition of demo-files.raw',
      'Remove the temporary directory .demo-files.tree',
      'Define demo-legacy: a stopped VMware import: monolithicSparse vmdk on an LSI Logic SCSI controller',
    ]);
  });

  it('rewrites a lost manifest but does not call its own disks foreign', () => {
    const steps = demoSteps(complete({ manifest: null, files: FILES }));
    expect(verbs(steps)).toEqual(['tee']);
    // Without a manifest we cannot know whether the directory was ours; keep it on reset.
    expect(JSON.parse(steps[0]!.command!.input!).createdDir).toBe(false);
  });

  it('gives the files disk a partition and an ext4 filesystem built from a tree it removes after', () => {
    const steps = demoSteps(fresh());
    const img = `${DIR}/demo-files.raw`;
    const tree = `${DIR}/.demo-files.tree`;
    const from = steps.findIndex((s) => s.id === 'partition:demo-files');
    const fsSteps = steps.slice(from, steps.findIndex((s) => s.id === 'define:demo-files'));
    expect(steps[from - 1]!.id).toBe('boot-sector:demo-files');
    expect(fsSteps[0]!.command).toEqual({ runsOn: 'sys', argv: ['sfdisk', '-q', img], input: 'label: dos\nlabel-id: 0x6f6d6564\nstart=2048, type=83\n' });
    expect(argv(fsSteps[1])).toEqual(['mkdir', '-p', '-m', '0755', tree, `${tree}/etc`, `${tree}/srv/files`, `${tree}/srv/files/minutes`]);
    const tees = fsSteps.filter((s) => argv(s)[0] === 'tee');
    expect(tees.map((s) => argv(s)[1])).toEqual(demoTree('demo-files').map((f) => `${tree}${f.path}`));
    expect(tees.map((s) => s.command?.input)).toEqual(demoTree('demo-files').map((f) => f.content));
    expect(argv(fsSteps.at(-2))).toEqual(['mke2fs', '-q', '-t', 'ext4', '-F', '-L', 'virtdeck-demo', '-E', 'offset=1048576', '-d', tree, img, '64512']);
    expect(argv(fsSteps.at(-1))).toEqual(['rm', '-rf', '--', tree]);
    // Only the raw disk gets one.
    expect(steps.filter((s) => argv(s)[0] === 'sfdisk')).toHaveLength(1);
  });

  it('writes the disk identifier sfdisk will use into the files boot sector', () => {
    const steps = demoSteps(fresh());
    const rebuilt = new Uint8Array(512);
    for (const w of argv(steps.find((s) => s.id === 'boot-sector:demo-files')).filter((a) => a.startsWith('write'))) {
      const [, hex, at, len] = w.match(/^write -q -P 0x([0-9a-f]{2}) (\d+) (\d+)$/)!;
      rebuilt.fill(Number.parseInt(hex!, 16), Number(at), Number(at) + Number(len));
    }
    expect(new DataView(rebuilt.buffer).getUint32(440, true)).toBe(DEMO_DISK_ID);
    expect(steps.find((s) => s.id === 'partition:demo-files')!.command!.input).toContain(`label-id: 0x${DEMO_DISK_ID.toString(16)}`);
    // The other disks keep a zero identifier.
    const web = argv(steps.find((s) => s.id === 'boot-sector:demo-web'));
    expect(web.some((a) => / 44[0-3] /.test(a))).toBe(false);
  });

  it('removes a tree a stopped run left behind, without rebuilding the disk', () => {
    const obs = complete({ files: [...FILES, 'virtdeck-demo.json', '.demo-files.tree'] });
    expect(demoSteps(obs).map((s) => argv(s))).toEqual([['tee', `${DIR}/virtdeck-demo.json`], ['rm', '-rf', '--', `${DIR}/.demo-files.tree`]]);
  });

  it('refuses a tree directory it did not make', () => {
    const obs = fresh({ dirExists: true, files: ['.demo-files.tree'] });
    expect(catchUserError(() => planDemo(obs, 'tcg', DIR)).sentence).toBe(
      `The directory ${DIR}/.demo-files.tree already exists and was not made by the virtdeck demo.`,
    );
  });

  it('refuses to adopt a guest it did not make', () => {
    const obs = fresh({ guests: [{ name: 'demo-web', state: 'running', marker: null }] });
    const e = catchUserError(() => planDemo(obs, 'tcg', DIR));
    expect(e.sentence).toBe('A guest called demo-web already exists and was not made by the virtdeck demo.');
    expect(e.fix).toContain('virsh domrename demo-web');
  });

  it('refuses a guest that belongs to a demo in another directory', () => {
    const obs = fresh({ guests: [{ name: 'demo-files', state: 'shut off', marker: { dir: '/srv/other' } }] });
    expect(catchUserError(() => planDemo(obs, 'tcg', DIR)).sentence).toContain('/srv/other');
  });

  it('refuses to overwrite a file it did not make', () => {
    const obs = fresh({ dirExists: true, files: ['demo-files.raw'] });
    expect(catchUserError(() => planDemo(obs, 'tcg', DIR)).sentence).toBe(
      `The file ${DIR}/demo-files.raw already exists and was not made by the virtdeck demo.`,
    );
  });

  it('refuses a directory QEMU cannot reach, naming the blocking parent', () => {
    const obs = fresh({ modes: { '/': '755', '/root': '700' } });
    const e = catchUserError(() => planDemo(obs, 'tcg', '/root/demo'));
    expect(e.sentence).toContain('cannot enter /root (mode 700)');
    expect(e.fix).toContain('chmod o+x /root');
  });

  it('refuses a relative directory', () => {
    expect(() => planDemo(fresh(), 'tcg', 'demo')).toThrow(UserError);
  });
});

describe('demo name prefix', () => {
  const PREFIX = 'vdtest-unit-';
  const ours = (name: string) => ({ name, state: 'shut off', marker: { dir: DIR } });

  it('names the guests and their disks from the prefix; the default is demo-', () => {
    expect(DEFAULT_DEMO_PREFIX).toBe('demo-');
    expect(DEMO_GUESTS.map((g) => [g.name, g.file])).toEqual([
      ['demo-web', 'demo-web.qcow2'],
      ['demo-files', 'demo-files.raw'],
      ['demo-legacy', 'demo-legacy.vmdk'],
    ]);
    expect(demoGuests(PREFIX).map((g) => [g.name, g.file])).toEqual([
      ['vdtest-unit-web', 'vdtest-unit-web.qcow2'],
      ['vdtest-unit-files', 'vdtest-unit-files.raw'],
      ['vdtest-unit-legacy', 'vdtest-unit-legacy.vmdk'],
    ]);
    // Everything but the names and MACs is the same demo.
    expect(demoGuests(PREFIX).map(({ name, file, mac, ...rest }) => rest)).toEqual(DEMO_GUESTS.map(({ name, file, mac, ...rest }) => rest));
  });

  it('derives the MACs from the prefix: two demos on one network share none, vendor parts kept (issue 12 item 6)', () => {
    expect(DEMO_GUESTS.map((g) => g.mac)).toEqual(['52:54:00:de:00:01', '00:50:56:de:00:02', '00:0c:29:de:00:03']);
    const other = demoGuests(PREFIX).map((g) => g.mac);
    const third = demoGuests('lab2-').map((g) => g.mac);
    expect(new Set([...DEMO_GUESTS.map((g) => g.mac), ...other, ...third]).size).toBe(9);
    expect(other.map((m) => m.slice(0, 8))).toEqual(['52:54:00', '00:50:56', '00:0c:29']);
    for (const m of other) expect(m).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(demoGuests(PREFIX).map((g) => g.mac)).toEqual(other);
  });

  it('accepts letters, digits and -_. up to 32 characters', () => {
    for (const ok of ['demo-', 'x', 'vdtest-e2e-', 'My_Demo.2-', 'a'.repeat(32)]) expect(parseDemoPrefix(ok, 'VIRTDECK_DEMO_PREFIX')).toBe(ok);
  });

  it.each(['', 'a'.repeat(33), 'demo/', '../x', 'my demo', "it's-", 'dämo-', 'a;b'])('refuses %j, naming the variable', (bad) => {
    const e = catchUserError(() => parseDemoPrefix(bad, 'VIRTDECK_DEMO_PREFIX'));
    expect(e.sentence).toContain('VIRTDECK_DEMO_PREFIX');
    expect(e.fix).toContain('VIRTDECK_DEMO_PREFIX=');
  });

  it('plans the prefixed guests, files, manifest and progress titles', () => {
    const plan = planDemo(fresh(), 'tcg', DIR, { xmlDir: XML_DIR, prefix: PREFIX });
    expect(plan.targets.guests).toEqual(['vdtest-unit-web', 'vdtest-unit-files', 'vdtest-unit-legacy']);
    expect(plan.targets.images).toEqual([`${DIR}/vdtest-unit-web.qcow2`, `${DIR}/vdtest-unit-files.raw`, `${DIR}/vdtest-unit-legacy.vmdk`]);
    expect(JSON.parse(plan.steps[1]!.command!.input!)).toMatchObject({
      guests: ['vdtest-unit-web', 'vdtest-unit-files', 'vdtest-unit-legacy'],
      files: ['vdtest-unit-web.qcow2', 'vdtest-unit-files.raw', 'vdtest-unit-legacy.vmdk'],
    });
    expect(titles(plan.steps)).toContain('Start vdtest-unit-web');
    expect(titles(plan.steps)).toContain('Create the vmdk disk vdtest-unit-legacy.vmdk (64M)');
    const define = plan.steps.find((s) => argv(s).includes('define'))!;
    expect(define.writesFile?.path).toBe(`${XML_DIR}/vdtest-unit-web.xml`);
    expect(define.writesFile?.content).toContain('<name>vdtest-unit-web</name>');
    expect(plan.steps.flatMap((s) => argv(s)).some((a) => /(^|\/)demo-/.test(a))).toBe(false);
  });

  it("does not see the default demo's guests and files as its own or as conflicts", () => {
    // An admin's complete default demo in the same directory, with its manifest.
    const plan = planDemo(complete(), 'tcg', DIR, { xmlDir: XML_DIR, prefix: PREFIX });
    expect(plan.steps.some((s) => argv(s).some((a) => /^demo-|\/demo-/.test(a)))).toBe(false);
    expect(plan.targets.guests).toEqual(['vdtest-unit-web', 'vdtest-unit-files', 'vdtest-unit-legacy']);
    // And an unmarked guest called demo-web blocks only the default demo.
    const foreign = fresh({ guests: [{ name: 'demo-web', state: 'running', marker: null }] });
    expect(planDemo(foreign, 'tcg', DIR, { prefix: PREFIX }).steps.length).toBeGreaterThan(0);
    expect(() => planDemo(foreign, 'tcg', DIR)).toThrow(UserError);
  });

  it('is a no-op when the prefixed demo is complete', () => {
    const obs = fresh({
      dirExists: true,
      files: demoGuests(PREFIX).map((g) => g.file),
      manifest: { ...MANIFEST, files: demoGuests(PREFIX).map((g) => g.file), guests: demoGuests(PREFIX).map((g) => g.name) },
      guests: [{ ...ours('vdtest-unit-web'), state: 'running' }, ours('vdtest-unit-files'), ours('vdtest-unit-legacy')],
    });
    expect(planDemo(obs, 'tcg', DIR, { xmlDir: XML_DIR, prefix: PREFIX }).steps).toEqual([]);
  });

  it('resets only the prefixed guests when the default demo is elsewhere', () => {
    const obs = fresh({
      dirExists: true,
      files: ['vdtest-unit-web.qcow2', 'virtdeck-demo.json'],
      manifest: { ...MANIFEST, files: ['vdtest-unit-web.qcow2'], guests: ['vdtest-unit-web'] },
      // observeDemo only reads the prefixed names and the manifest's; a stray default guest
      // passed in anyway must still be left alone.
      guests: [ours('vdtest-unit-web'), { name: 'demo-web', state: 'running', marker: { dir: '/srv/admin' } }],
    });
    const { plan } = planDemoReset(obs, DIR, PREFIX);
    expect(plan.targets.guests).toEqual(['vdtest-unit-web']);
    expect(verbs(plan.steps)).toEqual(['virsh undefine vdtest-unit-web', 'rm', 'rm', 'rmdir']);
  });
});

describe('demoDomainXml', () => {
  const [web, files, legacy] = DEMO_GUESTS;

  it('follows the accelerator', () => {
    expect(demoDomainXml(web!, 'tcg', DIR)).toMatch(/^<domain type='qemu'>/);
    expect(demoDomainXml(web!, 'kvm', DIR)).toMatch(/^<domain type='kvm'>/);
  });

  it('describes small guests on user networking, local VNC and a serial console', () => {
    const xml = demoDomainXml(files!, 'tcg', DIR);
    expect(xml).toContain("<mac address='00:50:56:de:00:02'/>");
    expect(xml).toContain("<interface type='user'>");
    expect(xml).toContain("<vcpu>2</vcpu>");
    expect(xml).toContain("<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>");
    expect(xml).toContain("<serial type='pty'>");
    expect(xml).toContain(`<source file='${DIR}/demo-files.raw'/>`);
    expect(xml).toContain("<driver name='qemu' type='raw'/>");
    for (const g of DEMO_GUESTS) {
      expect(g.memoryMiB).toBeGreaterThanOrEqual(64);
      expect(g.memoryMiB).toBeLessThanOrEqual(128);
    }
  });

  it('puts the VMware import on an LSI Logic SCSI controller', () => {
    const xml = demoDomainXml(legacy!, 'tcg', DIR);
    expect(xml).toContain("<driver name='qemu' type='vmdk'/>");
    expect(xml).toContain("<target dev='sda' bus='scsi'/>");
    expect(xml).toContain("<controller type='scsi' index='0' model='lsilogic'/>");
    expect(xml).toContain("<mac address='00:0c:29:de:00:03'/>");
  });

  it('escapes values and round-trips its marker', () => {
    const odd = "/srv/it's <demo> & co";
    const xml = demoDomainXml(web!, 'tcg', odd);
    expect(xml).toContain(`file='${escapeXml(`${odd}/demo-web.qcow2`)}'`);
    expect(xml).not.toContain("it's");
    expect(readDemoMarker(xml)).toEqual({ dir: odd });
  });
});

describe('readDemoMarker', () => {
  it.each([
    [`<domain><name>x</name><metadata><virtdeck:demo xmlns:virtdeck="${DEMO_NS}" dir="/d"/></metadata></domain>`, { dir: '/d' }],
    [`<domain><metadata><vd:demo xmlns:vd="${DEMO_NS}"/></metadata></domain>`, { dir: null }],
    [
      `<domain><metadata><a:x xmlns:a="urn:other"/><virtdeck:demo xmlns:virtdeck="${DEMO_NS}" dir="/e"/></metadata></domain>`,
      { dir: '/e' },
    ],
    [`<domain><metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"/></metadata></domain>`, null],
    ['<domain><name>demo-web</name></domain>', null],
    ['<domain><name>demo-web</name><description>virtdeck demo https://virtdeck.invalid/demo</description></domain>', null],
  ])('%s', (xml, want) => {
    expect(readDemoMarker(xml)).toEqual(want);
  });

  it('XML it cannot read, or with a DOCTYPE, is not the demo\'s: null, not a throw (found by test/security/fuzzSnapshotDemoXml.test.ts)', () => {
    for (const xml of ['<<domain><name>demo-web</name></domain>', '', '<domain>', `<!DOCTYPE d [<!ENTITY e "/d">]><domain><metadata><vd:demo xmlns:vd="${DEMO_NS}" dir="&e;"/></metadata></domain>`]) {
      expect(readDemoMarker(xml), xml).toBeNull();
    }
  });
});

describe('planDemoReset', () => {
  it('removes the marked guests, the manifest files and the directory it made', () => {
    const { plan, kept } = planDemoReset(complete(), DIR);
    const steps = plan.steps;
    expect(kept).toEqual([]);
    expect(plan.kind).toBe('demo-reset');
    expect(plan.targets.guests).toEqual(['demo-web', 'demo-files', 'demo-legacy']);
    expect(verbs(steps)).toEqual([
      'virsh destroy demo-web',
      'virsh undefine demo-web',
      'virsh undefine demo-files',
      'virsh undefine demo-legacy',
      'rm',
      'rm',
      'rm',
      'rm',
      'rmdir',
    ]);
    expect(steps.filter((s) => argv(s)[0] === 'rm').map((s) => argv(s).at(-1))).toEqual([
      ...FILES.map((f) => `${DIR}/${f}`),
      `${DIR}/virtdeck-demo.json`,
    ]);
  });

  it("keeps a user's guest with a demo name and guests of another sandbox", () => {
    const obs = complete();
    obs.guests[0] = { name: 'demo-web', state: 'running', marker: null };
    obs.guests[1] = { name: 'demo-files', state: 'shut off', marker: { dir: '/srv/other' } };
    const { plan, kept } = planDemoReset(obs, DIR);
    const steps = plan.steps;
    expect(kept).toEqual(['demo-web (not made by the demo)', 'demo-files (belongs to the demo in /srv/other)']);
    expect(steps.some((s) => argv(s).includes('demo-web') || argv(s).includes('demo-files'))).toBe(false);
  });

  it('deletes no file without a manifest and keeps a directory it did not make', () => {
    expect(planDemoReset(complete({ manifest: null }), DIR).plan.steps.some((s) => argv(s)[0] === 'rm')).toBe(false);
    const notOurs = planDemoReset(complete({ manifest: { ...MANIFEST, createdDir: false } }), DIR);
    expect(notOurs.plan.steps.some((s) => argv(s)[0] === 'rmdir')).toBe(false);
  });

  it("removes what its guests' jobs left in the sandbox and lists anything else it leaves (issue 12 item 10)", () => {
    const made = ['demo-web.vmdk', 'demo-files.raw.virtdeck-moved-20261207T010000Z', 'demo-legacy.virtdeck-orig', '.demo-legacy.virtdeck-expand', 'demo-legacy-mergeide.iso'];
    const { plan, kept } = planDemoReset(complete({ files: [...FILES, 'virtdeck-demo.json', ...made, 'notes.txt'] }), DIR);
    const removed = plan.steps.filter((s) => argv(s)[0] === 'rm').map((s) => argv(s).at(-1));
    for (const f of made) expect(removed).toContain(`${DIR}/${f}`);
    expect(removed).not.toContain(`${DIR}/notes.txt`);
    expect(kept).toEqual([`${DIR}/notes.txt (not made by the demo or its guests' jobs; remove it by hand if it is not needed)`]);
    expect(plan.steps.at(-1)?.command?.argv[0]).toBe('rmdir');
  });

  it('has nothing to do on a clean host', () => {
    const { plan, kept } = planDemoReset(fresh(), DIR);
    expect({ steps: plan.steps, kept }).toEqual({ steps: [], kept: [] });
  });
});

describe('boot sector', () => {
  it('is a valid 512-byte MBR that carries the message', () => {
    const b = bootSector('hello demo');
    expect(b.length).toBe(512);
    expect([b[510], b[511]]).toEqual([0x55, 0xaa]);
    expect(new TextDecoder().decode(b.subarray(28, 38))).toBe('hello demo');
    // The code loads the message from 0x7c00 + 28.
    expect([b[7], b[8], b[9]]).toEqual([0xbe, 0x1c, 0x7c]);
  });

  it('turns into qemu-io writes that rebuild it exactly', () => {
    const b = bootSector('x'.repeat(600));
    const rebuilt = new Uint8Array(512);
    for (const w of bootSectorWrites(b)) {
      const m = w.match(/^write -q -P 0x([0-9a-f]{2}) (\d+) (\d+)$/);
      expect(m).not.toBeNull();
      rebuilt.fill(Number.parseInt(m![1]!, 16), Number(m![2]), Number(m![2]) + Number(m![3]));
    }
    expect(rebuilt).toEqual(b);
    // A long message is cut before the disk identifier, still terminated.
    expect(b[439]).toBe(0);
    expect([...b.subarray(440, 510)].every((x) => x === 0)).toBe(true);
  });

  it('carries a disk identifier, little-endian at 440, when given one', () => {
    const b = bootSector('x'.repeat(600), 0x6f6d6564);
    expect(new TextDecoder().decode(b.subarray(440, 444))).toBe('demo');
    expect([b[444], b[445], b[510], b[511]]).toEqual([0, 0, 0x55, 0xaa]);
  });
});

describe('pathsToCheck', () => {
  it('lists every directory from the root down', () => {
    expect(pathsToCheck('/var/lib/virtdeck/demo/')).toEqual(['/', '/var', '/var/lib', '/var/lib/virtdeck', '/var/lib/virtdeck/demo']);
  });
});
