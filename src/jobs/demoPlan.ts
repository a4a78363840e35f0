import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { type Accel, domainTypeFor } from '../host/kvm.js';
import { controllerDevice, diskDevice, interfaceDevice, libosinfoMetadata, node, renderDomain, serialConsole, vncGraphics } from '../model/domainBuild.js';
import { isActive } from '../model/guest.js';
import type { CommandSpec, Plan, PlanStep } from '../model/plan.js';
import { UserError } from '../model/userError.js';
import { decodeEntities, parseOutsideXml } from '../model/xmlText.js';

/**
 * The demo sandbox, pure part: what the three demo guests look like, what exists, and the exact
 * commands that take the host from one to the other. demo.ts observes the host and runs the plan.
 */

export const DEMO_NS = 'https://virtdeck.invalid/demo';
export const MANIFEST_NAME = 'virtdeck-demo.json';
const DISK_SIZE_MIB = 64;
const DISK_SIZE = `${DISK_SIZE_MIB}M`;

export interface DemoGuestSpec {
  name: string;
  /** What the demo shows with this guest, for the plan and the help text. */
  role: string;
  format: 'qcow2' | 'raw' | 'vmdk';
  /** qemu-img -o options, e.g. the VMware subformat and adapter. */
  createOptions?: string;
  file: string;
  bus: 'virtio' | 'sata' | 'scsi';
  target: string;
  scsiModel?: 'lsilogic';
  memoryMiB: number;
  vcpus: number;
  mac: string;
  nicModel: 'virtio' | 'e1000';
  osId: string;
  clock: 'utc' | 'localtime';
  running: boolean;
  /** The disk also gets one MBR partition with an ext4 filesystem holding demoTree's files, so
   * file-level restore and offline expansion have something real to work on. */
  filesystem?: 'ext4';
}

/** The guest names are the prefix plus web/files/legacy; `virtdeck --demo` uses this one. */
export const DEFAULT_DEMO_PREFIX = 'demo-';
const PREFIX_MAX = 32;

/**
 * Pure: checks a demo name prefix. It becomes part of guest names and of file names in the
 * sandbox, so only characters that are safe in both are allowed. `source` names where the value
 * came from (the environment variable), so the admin knows what to fix.
 */
export function parseDemoPrefix(value: string, source: string): string {
  if (value.length === 0 || value.length > PREFIX_MAX || !/^[A-Za-z0-9._-]+$/.test(value)) {
    throw new UserError(
      `${source} is "${value}", which is not a usable prefix for the demo guest names.`,
      `Use 1 to ${PREFIX_MAX} letters, digits, "-", "_" or ".", e.g. ${source}=mydemo-, or unset it to get ${DEFAULT_DEMO_PREFIX}*.`,
    );
  }
  return value;
}

type DemoGuestTemplate = Omit<DemoGuestSpec, 'name' | 'file'> & { suffix: string; extension: string };

const DEMO_GUEST_TEMPLATES: readonly DemoGuestTemplate[] = [
  {
    suffix: 'web',
    extension: 'qcow2',
    role: 'a running guest on a qcow2 disk',
    format: 'qcow2',
    bus: 'virtio',
    target: 'vda',
    memoryMiB: 128,
    vcpus: 1,
    mac: '52:54:00:de:00:01',
    nicModel: 'virtio',
    osId: 'http://debian.org/debian/12',
    clock: 'utc',
    running: true,
  },
  {
    suffix: 'files',
    extension: 'raw',
    role: 'a stopped guest on a raw disk (an ext4 partition with files) with a VMware-style static MAC',
    format: 'raw',
    filesystem: 'ext4',
    bus: 'sata',
    target: 'sda',
    memoryMiB: 96,
    vcpus: 2,
    mac: '00:50:56:de:00:02',
    nicModel: 'e1000',
    osId: 'http://debian.org/debian/12',
    clock: 'utc',
    running: false,
  },
  {
    suffix: 'legacy',
    extension: 'vmdk',
    role: 'a stopped VMware import: monolithicSparse vmdk on an LSI Logic SCSI controller',
    format: 'vmdk',
    createOptions: 'subformat=monolithicSparse,adapter_type=lsilogic',
    bus: 'scsi',
    target: 'sda',
    scsiModel: 'lsilogic',
    memoryMiB: 64,
    vcpus: 1,
    mac: '00:0c:29:de:00:03',
    nicModel: 'e1000',
    osId: 'http://microsoft.com/win/2k3',
    clock: 'localtime',
    running: false,
  },
];

/**
 * The MAC of a demo guest under `prefix`: the template's vendor part (KVM, VMware) and last byte,
 * with the two bytes between taken from a hash of the prefix, so two demos side by side on one
 * network never share a MAC. The default prefix keeps the template's addresses.
 */
export function demoMac(template: string, prefix: string): string {
  if (prefix === DEFAULT_DEMO_PREFIX) return template;
  const bytes = template.split(':');
  const hash = createHash('sha256').update(prefix).digest('hex');
  // de:00 is the default demo's; any other prefix keeps clear of it.
  const middle = hash.slice(0, 4) === 'de00' ? hash.slice(4, 8) : hash.slice(0, 4);
  return [...bytes.slice(0, 3), middle.slice(0, 2), middle.slice(2, 4), bytes[5]].join(':');
}

/** Pure: the three demo guests named with `prefix` (validate it with parseDemoPrefix first). */
export function demoGuests(prefix: string = DEFAULT_DEMO_PREFIX): DemoGuestSpec[] {
  return DEMO_GUEST_TEMPLATES.map(({ suffix, extension, ...rest }) => {
    const name = `${prefix}${suffix}`;
    return { ...rest, name, file: `${name}.${extension}`, mac: demoMac(rest.mac, prefix) };
  });
}

/** The guests of `virtdeck --demo` with the default prefix. */
export const DEMO_GUESTS: readonly DemoGuestSpec[] = demoGuests();

// ---------------------------------------------------------------------------------------------
// Domain XML

export function demoDomainXml(spec: DemoGuestSpec, accel: Accel, dir: string): string {
  return renderDomain({
    type: domainTypeFor(accel),
    name: spec.name,
    title: `virtdeck demo: ${spec.role}`,
    metadata: [node('virtdeck:demo', { 'xmlns:virtdeck': DEMO_NS, dir }), libosinfoMetadata(spec.osId)],
    memoryMiB: spec.memoryMiB,
    currentMemory: false,
    vcpus: spec.vcpus,
    staticPlacement: false,
    machine: 'pc',
    boot: ['hd'],
    clock: spec.clock,
    devices: [
      diskDevice({ path: posix.join(dir, spec.file), format: spec.format, target: spec.target, bus: spec.bus }),
      spec.scsiModel ? controllerDevice('scsi', 0, spec.scsiModel) : null,
      // No libvirt network is assumed to exist; user-mode networking works everywhere.
      interfaceDevice({ kind: 'user' }, spec.nicModel, spec.mac),
      ...serialConsole(),
      vncGraphics('auto', '127.0.0.1'),
    ],
  });
}

/**
 * What a marked guest says about itself: null when the guest was not made by the demo (a user's
 * own guest that happens to be called demo-web), else the sandbox dir it was made for.
 */
export function readDemoMarker(domainXml: string): { dir: string | null } | null {
  // Nothing is expanded by the parser, and a document that cannot be read (a DOCTYPE, broken
  // XML) is not one the demo wrote: null, so the demo never touches that guest.
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, processEntities: false, htmlEntities: false });
  try {
    const doc = parseOutsideXml((x) => parser.parse(x), domainXml, 'The domain XML') as { domain?: { metadata?: Record<string, unknown> } };
    const metadata = doc.domain?.metadata;
    if (!metadata || typeof metadata !== 'object') return null;
    for (const value of Object.values(metadata)) {
      for (const child of Array.isArray(value) ? value : [value]) {
        if (!child || typeof child !== 'object') continue;
        const attrs = child as Record<string, unknown>;
        const ours = Object.entries(attrs).some(([k, v]) => k.startsWith('@xmlns') && v === DEMO_NS);
        if (ours) return { dir: typeof attrs['@dir'] === 'string' ? decodeEntities(attrs['@dir'], 'The domain XML') : null };
      }
    }
    return null;
  } catch (e) {
    if (e instanceof UserError) return null;
    throw e;
  }
}

/** Where an MBR's disk identifier sits; the boot code and message stay before it. */
const MBR_DISK_ID_OFFSET = 440;

/** A boot sector that prints who it is on the serial port and the screen, then halts with
 * interrupts off, so a running demo guest costs no CPU even under TCG. `diskId` is the MBR disk
 * identifier (bytes 440–443) a partition table written later will carry, so partitioning leaves
 * the first 446 bytes exactly as written here. */
export function bootSector(message: string, diskId = 0): Uint8Array {
  const code = [
    0xfa, // cli
    0x31, 0xc0, // xor ax,ax
    0x8e, 0xd8, // mov ds,ax
    0x31, 0xdb, // xor bx,bx          (teletype page 0)
    0xbe, 0x1c, 0x7c, // mov si,0x7c1c     (the message, right after the code)
    0xac, // next: lodsb
    0x84, 0xc0, // test al,al
    0x74, 0x0a, // jz halt
    0xba, 0xf8, 0x03, // mov dx,0x3f8      (COM1)
    0xee, // out dx,al
    0xb4, 0x0e, // mov ah,0x0e
    0xcd, 0x10, // int 0x10          (BIOS teletype)
    0xeb, 0xf1, // jmp next
    0xf4, // halt: hlt
    0xeb, 0xfd, // jmp halt
  ];
  const bytes = new Uint8Array(512);
  bytes.set(code);
  const msg = new TextEncoder().encode(message.replace(/[^\x20-\x7e\r\n]/g, '?'));
  bytes.set(msg.subarray(0, MBR_DISK_ID_OFFSET - code.length - 1), code.length);
  new DataView(bytes.buffer).setUint32(MBR_DISK_ID_OFFSET, diskId >>> 0, true);
  bytes[510] = 0x55;
  bytes[511] = 0xaa;
  return bytes;
}

/** Pure: the boot sector a demo guest's disk starts with (the one disk that gets a partition table
 * carries the identifier sfdisk is given). */
export function demoBootSector(spec: DemoGuestSpec): Uint8Array {
  const message = `\r\nvirtdeck demo guest ${spec.name}: ${spec.role}. Nothing to boot; halted.\r\n`;
  return bootSector(message, spec.filesystem ? DEMO_DISK_ID : 0);
}

/** The boot sector as qemu-io commands (runs of equal non-zero bytes), so no file has to be
 * copied to a remote host. */
export function bootSectorWrites(bytes: Uint8Array): string[] {
  const writes: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let j = i + 1;
    while (j < bytes.length && bytes[j] === b) j++;
    if (b !== 0) writes.push(`write -q -P 0x${b.toString(16).padStart(2, '0')} ${i} ${j - i}`);
    i = j;
  }
  return writes;
}

// ---------------------------------------------------------------------------------------------
// The files guest's filesystem

/** "demo" in the MBR disk identifier bytes; fixed, so the boot sector and sfdisk agree on it. */
export const DEMO_DISK_ID = 0x6f6d6564;
/** The partition starts at 1 MiB, where partitioning tools align the first one. */
const PARTITION_START_SECTOR = 2048;
const PARTITION_OFFSET_BYTES = PARTITION_START_SECTOR * 512;
const FS_LABEL = 'virtdeck-demo';

export interface DemoTreeFile {
  /** Absolute path inside the guest's filesystem. */
  path: string;
  content: string;
}

/** Pure: the files the demo's ext4 filesystem holds: enough to browse and restore. */
export function demoTree(guest: string): DemoTreeFile[] {
  return [
    {
      path: '/README.txt',
      content: [
        `This is the virtdeck demo guest ${guest}'s filesystem.`,
        '',
        'Nothing here is real; it exists so you can try, without risk:',
        `  - file-level restore: back up ${guest} (virtdeck backup run ${guest} --dest DIR),`,
        `    then browse and copy files out of the backup (virtdeck backup files ${guest} latest /srv/files,`,
        `    virtdeck backup extract ${guest} latest /srv/files/budget-2026.txt --to /root/restored),`,
        '    or press f on a run in the Backups pane;',
        '  - offline expansion: grow the disk, its partition and this ext4 filesystem in one job.',
        '',
        'virtdeck --demo --reset removes the demo guests and their disks again.',
        '',
      ].join('\n'),
    },
    { path: '/etc/hostname', content: `${guest}\n` },
    {
      path: '/srv/files/budget-2026.txt',
      content: ['Budget 2026 (demo data)', '', 'hosting      1200', 'backups       300', 'coffee        450', 'total        1950', ''].join('\n'),
    },
    {
      path: '/srv/files/minutes/2026-11-01.txt',
      content: ['Minutes, 1 November 2026 (demo data)', '', '- Decided: back up every guest nightly.', '- Try a restore before we need one.', ''].join('\n'),
    },
  ];
}

/** Where the tree for mke2fs -d is written: inside the sandbox, which the demo owns, and the same
 * path on a remote host (no temp dir from this machine exists there). */
export function demoTreeDirName(spec: DemoGuestSpec): string {
  return `.${spec.name}.tree`;
}

/**
 * Pure: the steps that turn a disk holding just its boot sector into a partitioned disk with a
 * populated ext4 filesystem. sfdisk keeps the boot code and, given the same disk identifier, the
 * first 446 bytes; mke2fs -E offset writes into the partition of the image file without a loop
 * device, a mount or a libguestfs launch.
 */
function filesystemSteps(spec: DemoGuestSpec, dir: string): PlanStep[] {
  // sfdisk and mke2fs write the image file as bytes; that is only the disk for a raw image.
  if (spec.format !== 'raw') throw new Error(`demo guest ${spec.name}: a filesystem needs a raw disk, not ${spec.format}`);
  const image = posix.join(dir, spec.file);
  const tree = posix.join(dir, demoTreeDirName(spec));
  const files = demoTree(spec.name);
  const dirs = [...new Set(files.map((f) => posix.dirname(f.path)))].filter((d) => d !== '/').sort();
  const sizeKiB = (DISK_SIZE_MIB * 1024 * 1024 - PARTITION_OFFSET_BYTES) / 1024;
  const label = `label: dos\nlabel-id: 0x${DEMO_DISK_ID.toString(16)}\nstart=${PARTITION_START_SECTOR}, type=83\n`;
  return [
    step(`partition:${spec.name}`, `Partition ${spec.file}: one Linux partition from 1 MiB to the end`, {
      ...sys('sfdisk', '-q', image),
      input: label,
    }),
    step(
      `tree-dirs:${spec.name}`,
      `Create the directories of the files to put into ${spec.file}`,
      sys('mkdir', '-p', '-m', '0755', tree, ...dirs.map((d) => posix.join(tree, d))),
    ),
    ...files.map((f) =>
      step(`tree-file:${spec.name}:${f.path}`, `Write ${f.path} for ${spec.file}`, { ...sys('tee', posix.join(tree, f.path)), input: f.content }),
    ),
    step(
      `mkfs:${spec.name}`,
      `Make an ext4 filesystem with those files in the partition of ${spec.file}`,
      sys('mke2fs', '-q', '-t', spec.filesystem ?? 'ext4', '-F', '-L', FS_LABEL, '-E', `offset=${PARTITION_OFFSET_BYTES}`, '-d', tree, image, String(sizeKiB)),
    ),
    removeTreeStep(spec, dir),
  ];
}

function removeTreeStep(spec: DemoGuestSpec, dir: string): PlanStep {
  const tree = posix.join(dir, demoTreeDirName(spec));
  return step(`tree-remove:${spec.name}`, `Remove the temporary directory ${demoTreeDirName(spec)}`, sys('rm', '-rf', '--', tree));
}

// ---------------------------------------------------------------------------------------------
// Observation and plans

export const manifestSchema = z.object({
  kind: z.literal('virtdeck-demo'),
  version: z.literal(1),
  /** Only base names: whatever the manifest says, reset can only delete inside the sandbox. */
  files: z.array(z.string().regex(/^[^/]+$/)),
  guests: z.array(z.string()),
  createdDir: z.boolean(),
});
export type DemoManifest = z.infer<typeof manifestSchema>;

export interface ObservedGuest {
  name: string;
  state: string; // virsh domstate: running, shut off, paused, …
  /** From readDemoMarker. */
  marker: { dir: string | null } | null;
}

export interface DemoObserved {
  uri: string;
  guests: ObservedGuest[];
  dirExists: boolean;
  /** Base names of the entries in the sandbox dir. */
  files: string[];
  manifest: DemoManifest | null;
  /** Permission bits of the sandbox dir and its existing ancestors, e.g. { '/var': '755' }. */
  modes: Record<string, string>;
}

const virsh = (uri: string, ...args: string[]): CommandSpec => ({ runsOn: 'virsh', argv: ['virsh', '-c', uri, ...args] });
const sys = (...argv: string[]): CommandSpec => ({ runsOn: 'sys', argv });
const step = (id: string, title: string, command: CommandSpec, more: Partial<PlanStep> = {}): PlanStep => ({ id, title, command, ...more });

/**
 * Where `virsh define --file` reads each demo guest's XML (virsh cannot open /dev/stdin when
 * Node's stdin is a socket pair). The job passes a directory it just made with mkdtemp, so the
 * runner's write cannot go through someone else's file; dry runs show mkdtemp's template.
 */
export const DRY_RUN_XML_DIR = '/tmp/virtdeck-demo-XXXXXX';

function manifestStep(dir: string, manifest: DemoManifest): PlanStep {
  return step('manifest', `Record the demo's files and guests in ${MANIFEST_NAME}`, {
    ...sys('tee', posix.join(dir, MANIFEST_NAME)),
    input: `${JSON.stringify(manifest, null, 2)}\n`,
  });
}

/** QEMU runs as an unprivileged user (libvirt-qemu on Debian): every directory on the way to the
 * disks must let others through. */
function checkReachable(dir: string, modes: Record<string, string>): void {
  for (const [path, mode] of Object.entries(modes)) {
    const other = Number.parseInt(mode.slice(-1), 8);
    if (Number.isNaN(other) || (other & 1) === 0) {
      throw new UserError(
        `QEMU runs as an unprivileged user and cannot enter ${path} (mode ${mode}), so it could not open the demo disks in ${dir}.`,
        `Run chmod o+x ${path}, or choose a demo directory under /var/lib/libvirt/images.`,
      );
    }
  }
}

function isDemoName(observed: DemoObserved, name: string): ObservedGuest | undefined {
  return observed.guests.find((g) => g.name === name);
}

export interface DemoPlanOptions {
  /** Where the define steps' XML files go; DRY_RUN_XML_DIR when only shown. */
  xmlDir?: string;
  /** The guest name prefix (already checked by parseDemoPrefix); DEFAULT_DEMO_PREFIX if absent. */
  prefix?: string;
}

/**
 * Pure: the plan that makes the demo exist; no steps when it already does. Steps have no undo: the
 * manifest is written first, so `virtdeck --demo --reset` removes whatever a stopped run made.
 * `observed` must have been read for the same prefix.
 */
export function planDemo(observed: DemoObserved, accel: Accel, rawDir: string, opts: DemoPlanOptions = {}): Plan {
  const xmlDir = opts.xmlDir ?? DRY_RUN_XML_DIR;
  const specs = demoGuests(opts.prefix);
  const dir = normalizeDir(rawDir);
  if (!posix.isAbsolute(dir)) {
    throw new UserError(`The demo directory ${dir} is not an absolute path.`, 'Give the full path, e.g. /var/lib/virtdeck/demo.');
  }
  checkReachable(dir, observed.modes);
  const manifest = observed.manifest;
  const ownFiles = new Set(manifest?.files ?? []);
  const steps: PlanStep[] = [];
  const work: PlanStep[] = [];
  const touched = { guests: [] as string[], images: [] as string[] };

  for (const spec of specs) {
    const guest = isDemoName(observed, spec.name);
    if (guest && !guest.marker) {
      throw new UserError(
        `A guest called ${spec.name} already exists and was not made by the virtdeck demo.`,
        `Rename it (virsh domrename ${spec.name} NEWNAME) or remove it, or set VIRTDECK_DEMO_PREFIX to give the demo other names; the demo never touches guests it did not create.`,
      );
    }
    if (guest?.marker?.dir && guest.marker.dir !== dir) {
      throw new UserError(
        `The demo guest ${spec.name} belongs to the demo in ${guest.marker.dir}, not ${dir}.`,
        `Set demoDir to ${guest.marker.dir} in the config file to keep using that demo, run virtdeck --demo --reset with it there first, or set VIRTDECK_DEMO_PREFIX to give this demo other names.`,
      );
    }
    const path = posix.join(dir, spec.file);
    const fileExists = observed.files.includes(spec.file);
    // A lost manifest is not a conflict when our own marked guest uses the file.
    const claimed = ownFiles.has(spec.file) || guest?.marker?.dir === dir;
    if (fileExists && !claimed) {
      throw new UserError(
        `The file ${path} already exists and was not made by the virtdeck demo.`,
        'Move it away, or choose another demo directory.',
      );
    }
    // A tree left by a run that stopped before removing it; only trusted inside a demo's sandbox.
    const leftoverTree = spec.filesystem !== undefined && observed.files.includes(demoTreeDirName(spec));
    if (leftoverTree && !claimed) {
      throw new UserError(
        `The directory ${posix.join(dir, demoTreeDirName(spec))} already exists and was not made by the virtdeck demo.`,
        'Move it away, or choose another demo directory.',
      );
    }
    if (leftoverTree) work.push(removeTreeStep(spec, dir));
    if (!fileExists) {
      const create = ['qemu-img', 'create', '-q', '-f', spec.format];
      if (spec.createOptions) create.push('-o', spec.createOptions);
      touched.images.push(path);
      work.push(step(`create-disk:${spec.name}`, `Create the ${spec.format} disk ${spec.file} (${DISK_SIZE})`, sys(...create, path, DISK_SIZE)));
      const writes = bootSectorWrites(demoBootSector(spec));
      work.push(
        step(
          `boot-sector:${spec.name}`,
          `Write a boot sector that names the guest into ${spec.file}`,
          sys('qemu-io', '-f', spec.format, ...writes.flatMap((w) => ['-c', w]), path),
        ),
      );
      if (spec.filesystem) work.push(...filesystemSteps(spec, dir));
    }
    const guestSteps: PlanStep[] = [];
    if (!guest) {
      const xmlFile = posix.join(xmlDir, `${spec.name}.xml`);
      guestSteps.push(
        step(`define:${spec.name}`, `Define ${spec.name}: ${spec.role}`, virsh(observed.uri, 'define', '--file', xmlFile), {
          writesFile: { path: xmlFile, content: demoDomainXml(spec, accel, dir) },
        }),
      );
    }
    if (spec.running && (!guest || guest.state === 'shut off' || guest.state === 'crashed')) {
      guestSteps.push(step(`start:${spec.name}`, `Start ${spec.name}`, virsh(observed.uri, 'start', spec.name)));
    } else if (spec.running && guest?.state === 'paused') {
      guestSteps.push(step(`resume:${spec.name}`, `Resume ${spec.name}`, virsh(observed.uri, 'resume', spec.name)));
    }
    if (guestSteps.length > 0) touched.guests.push(spec.name);
    work.push(...guestSteps);
  }
  const plan = (all: PlanStep[]): Plan => ({ kind: 'demo', title: `set up the demo guests in ${dir}`, targets: touched, steps: all });
  if (work.length === 0 && manifest) return plan([]);

  if (!observed.dirExists) {
    steps.push(step('mkdir', `Create the sandbox directory ${dir}`, sys('mkdir', '-p', '-m', '0711', dir)));
  }
  // The manifest is written before anything is created, so a run that stops half-way still
  // tells reset what may exist.
  const next: DemoManifest = {
    kind: 'virtdeck-demo',
    version: 1,
    files: union(manifest?.files ?? [], specs.map((g) => g.file)),
    guests: union(manifest?.guests ?? [], specs.map((g) => g.name)),
    createdDir: manifest?.createdDir ?? !observed.dirExists,
  };
  steps.push(manifestStep(dir, next));
  return plan([...steps, ...work]);
}

/**
 * Pure: the plan that removes what the demo with this name prefix made in `dir`, and nothing else
 * (the manifest adds guests made there under other prefixes). Removal has no undo.
 */
export function planDemoReset(observed: DemoObserved, rawDir: string, prefix: string = DEFAULT_DEMO_PREFIX): { plan: Plan; kept: string[] } {
  const dir = normalizeDir(rawDir);
  const steps: PlanStep[] = [];
  const touched = { guests: [] as string[], images: [] as string[] };
  const kept: string[] = [];
  const names = union(demoGuests(prefix).map((g) => g.name), observed.manifest?.guests ?? []);
  const notOurs = new Set<string>();
  for (const name of names) {
    const guest = isDemoName(observed, name);
    if (!guest) continue;
    const ours = guest.marker && (guest.marker.dir === null || guest.marker.dir === dir);
    if (!ours) {
      notOurs.add(name);
      kept.push(guest.marker ? `${name} (belongs to the demo in ${guest.marker.dir})` : `${name} (not made by the demo)`);
      continue;
    }
    touched.guests.push(name);
    if (isActive(guest.state)) steps.push(step(`stop:${name}`, `Stop ${name}`, virsh(observed.uri, 'destroy', name)));
    // Snapshots and checkpoints someone made while trying the demo would block undefine.
    steps.push(
      step(
        `undefine:${name}`,
        `Remove the guest ${name}`,
        virsh(observed.uri, 'undefine', name, '--managed-save', '--snapshots-metadata', '--checkpoints-metadata'),
      ),
    );
  }
  const manifest = observed.manifest;
  if (manifest) {
    for (const file of manifest.files.filter((f) => observed.files.includes(f))) {
      touched.images.push(posix.join(dir, file));
      steps.push(step(`delete:${file}`, `Delete ${file}`, sys('rm', '-f', '--', posix.join(dir, file))));
    }
    // What jobs on the demo's guests left in the sandbox (a convert's result, a restore's
    // moved-aside copy, an expansion's kept original, a MergeIDE ISO) is named after a guest or
    // its disk: it goes too. Anything else there is someone's, and is listed as left.
    const jobMade = (entry: string) =>
      names.filter((n) => !notOurs.has(n)).some((n) => entry.replace(/^\./, '').startsWith(`${n}.`) || entry.replace(/^\./, '').startsWith(`${n}-`));
    for (const entry of observed.files.filter((f) => f !== MANIFEST_NAME && !manifest.files.includes(f))) {
      if (jobMade(entry)) {
        touched.images.push(posix.join(dir, entry));
        steps.push(step(`delete:${entry}`, `Delete ${entry} (made by a job on a demo guest)`, sys('rm', '-rf', '--', posix.join(dir, entry))));
      } else kept.push(`${posix.join(dir, entry)} (not made by the demo or its guests' jobs; remove it by hand if it is not needed)`);
    }
    steps.push(step('delete-manifest', `Delete ${MANIFEST_NAME}`, sys('rm', '-f', '--', posix.join(dir, MANIFEST_NAME))));
    if (manifest.createdDir) {
      // rmdir refuses a directory that still holds someone's files; that is the point.
      steps.push(step('rmdir', `Remove the directory ${dir} if empty`, { ...sys('rmdir', '--', dir), okExitCodes: [1] }));
    }
  }
  return { plan: { kind: 'demo-reset', title: `remove the demo guests in ${dir}`, targets: touched, steps }, kept };
}

/** "/a//b/" and "/a/b" are the same sandbox; markers and manifests compare the normal form. */
export function normalizeDir(dir: string): string {
  const n = posix.normalize(dir);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Pure: the directories whose permissions decide whether QEMU can reach `dir`. */
export function pathsToCheck(dir: string): string[] {
  const out: string[] = [];
  let p = normalizeDir(dir);
  while (p !== '/') {
    out.unshift(p);
    p = posix.dirname(p);
  }
  return ['/', ...out];
}
