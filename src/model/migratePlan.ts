/**
 * Moving a guest to another host: the checks that must pass before anything moves (each a sentence
 * and a fix), and the plan. Live: libvirt's own migration (`virsh migrate --live`), with the disks
 * copied over NBD (`--copy-storage-all`) into images pre-created on the destination when the
 * storage is not shared. Offline (a shut-off guest): the disks are streamed over SSH and hashed,
 * the guest is defined on the destination and verified there, and only then undefined on the
 * source. The source's disk files are never removed by a migration: they stay for the admin to
 * delete (virtdeck disk delete) once the guest is known good on its new host.
 *
 * Checkpoints (the backup chain): their bitmaps do not travel with a migration, so the plan removes
 * the guest's checkpoint metadata on the source first, and the next backup on the new host is a
 * full one. Internal snapshots cannot be carried (qcow2 internal snapshots are not copied by NBD),
 * so a guest with snapshots is refused.
 */
import type { GuestDisk, GuestNic, GuestState } from './guest.js';
import type { Plan, PlanStep } from './plan.js';
import { formatBytes } from './units.js';
import { UserError } from './userError.js';

export const MIGRATE_JOB_KIND = 'migrate';

/** How an action reaches the destination again (also after a restart, from the journal). */
export interface DestRef {
  uri: string;
  name: string;
  fromConfig: boolean;
}

export interface MigrateDisk {
  target: string;
  source: string;
  format: string;
  virtualSize: number;
  /** Bytes the file takes on the source (what a copy writes at most). */
  fileBytes: number;
}

export interface MigrateFacts {
  guest: {
    name: string;
    uuid: string;
    state: GuestState;
    domainType: string;
    memoryKiB: number;
    persistent: boolean;
    disks: MigrateDisk[];
    /** Disks that are not plain files (block devices, network disks). */
    otherDisks: GuestDisk[];
    cdroms: string[];
    nics: GuestNic[];
    snapshots: string[];
    checkpoints: string[];
    /** A job libvirt runs on the guest now (a backup, another migration). */
    activeJob: string | null;
    /** The inactive definition, for an offline migration's define. */
    xml: string;
  };
  /** The URI tells "this host" apart when the source itself is remote (a return home to qemu:///system). */
  source: { name: string; uri?: string };
  dest: {
    ref: DestRef;
    /** Why the destination did not answer; null when it did. */
    unreachable: string | null;
    offersKvm: boolean;
    cpu: { compatible: boolean; text: string } | null;
    networks: { name: string; active: boolean }[];
    bridges: string[];
    availableMemoryKiB: number;
    guests: { name: string; uuid: string }[];
    /** Disk paths (and CD-ROM media) that exist on the destination. */
    existing: string[];
    /** Free bytes on the destination for each disk path (df of its directory or nearest ancestor). */
    availBytes: Record<string, number | null>;
    /** The storage of the disks is the same on both hosts (the marker written here was read there). */
    sharedStorage: boolean;
  };
}

export interface MigrateOptions {
  /** Asked for offline: the guest must be shut off. A shut-off guest migrates offline anyway. */
  offline?: boolean;
  /** Copy the disks (the storage is not shared). */
  copyStorage?: boolean;
  /** Keep the source's definition (shut off) after the move. */
  keepSource?: boolean;
  /** Delete the copied disks' files on the source once the guest is on the destination and checked. */
  removeSourceDisks?: boolean;
  bandwidthMiB?: number;
  autoConverge?: boolean;
  postCopy?: boolean;
  /** Where QEMU's migration stream goes: tcp://HOST of the destination. */
  migrateUri: string;
}

export interface MigrateCheck {
  id: string;
  ok: boolean;
  /** What was checked and found. */
  text: string;
  /** Set when the check refuses the migration. */
  refusal?: UserError;
}

export interface MigrateReview {
  live: boolean;
  copy: boolean;
  checks: MigrateCheck[];
  refusals: UserError[];
  /** What happens that the admin must know (the backup chain, kept source files). */
  notes: string[];
  /** Files on the source the job deletes after the move (--remove-source-disks). */
  removeFromSource: string[];
}

const ACTIVE: GuestState[] = ['running', 'idle', 'paused', 'in shutdown', 'pmsuspended'];

/** Pure: every check, in the order the wizard shows them. */
export function reviewMigration(f: MigrateFacts, o: MigrateOptions): MigrateReview {
  const g = f.guest;
  const d = f.dest;
  const to = d.ref.name;
  const checks: MigrateCheck[] = [];
  const add = (id: string, text: string, refusal?: UserError) => checks.push({ id, ok: !refusal, text, ...(refusal ? { refusal } : {}) });
  const live = ACTIVE.includes(g.state);
  if (d.unreachable !== null) {
    add('answers', `${to} does not answer: ${d.unreachable}`, new UserError(`${to} does not answer (${d.unreachable}), so ${g.name} was not moved.`, `Check that libvirtd runs on ${to} and that \`virsh -c ${d.ref.uri} list\` works from here.`));
    return { live, copy: false, checks, refusals: checks.flatMap((c) => (c.refusal ? [c.refusal] : [])), notes: [], removeFromSource: [] };
  }
  add('answers', `${to} answers`);
  const isLocal = (uri: string) => uri === '' || !/^[a-z0-9+]+:\/\/[^/]/i.test(uri);
  if (d.ref.uri === f.source.uri || (isLocal(d.ref.uri) && (f.source.uri === undefined || isLocal(f.source.uri)))) {
    add('other-host', `${to} is this host`, new UserError(`${to} is the host ${g.name} already runs on.`, 'Pick another host (H lists them; the config file\'s "hosts" adds one).'));
  }
  if (o.offline && live) {
    add('state', `${g.name} is ${g.state}`, new UserError(`${g.name} is ${g.state}, and an offline migration moves only a shut-off guest.`, `Shut it down first (virtdeck guest shutdown ${g.name}), or leave out --offline to move it live.`));
  } else if (g.state === 'crashed' || g.state === 'unknown') {
    add('state', `${g.name} is ${g.state}`, new UserError(`${g.name} is ${g.state}, so it cannot be migrated.`, `Destroy it (virtdeck guest destroy ${g.name}) and move it shut off.`));
  } else add('state', live ? `${g.name} is ${g.state}: live migration` : `${g.name} is shut off: offline migration`);
  if (!g.persistent) {
    add('persistent', `${g.name} is transient`, new UserError(`${g.name} has no persistent definition, so it would not survive a restart on ${to}.`, `Define it first (virsh dumpxml ${g.name} > ${g.name}.xml; virsh define ${g.name}.xml).`));
  }
  // Accelerator: a KVM guest on a host without KVM would not start (or crawl under TCG if rewritten).
  if (g.domainType === 'kvm' && !d.offersKvm) {
    add('accel', `${to} has no KVM`, new UserError(`${g.name} is a KVM guest and ${to} offers no KVM (only TCG emulation), so it would not start there.`, `Enable KVM on ${to} (virtdeck doctor there), or change the guest's type to qemu first (virtdeck guest edit ${g.name}) and accept TCG's speed.`));
  } else add('accel', `accelerator ${g.domainType} is available on ${to}`);
  if (d.cpu && !d.cpu.compatible) {
    add('cpu', `CPU: ${d.cpu.text}`, new UserError(`${g.name}'s CPU model does not run on ${to}: ${d.cpu.text}`, `Give the guest a CPU model both hosts have (virsh hypervisor-cpu-baseline), or move it offline and start it with host-model there.`));
  } else add('cpu', d.cpu ? `CPU: ${d.cpu.text}` : 'CPU: no model named (the default runs anywhere)');
  for (const nic of g.nics) {
    if (nic.type === 'network' && nic.source) {
      const net = d.networks.find((n) => n.name === nic.source);
      if (!net?.active) {
        add(`net-${nic.source}`, `network ${nic.source} ${net ? 'is not active' : 'is missing'} on ${to}`, new UserError(`${g.name} uses the network "${nic.source}", which ${net ? 'is not active' : 'does not exist'} on ${to}.`, net ? `Start it there: virsh -c ${d.ref.uri} net-start ${nic.source}.` : `Define the network on ${to} (virsh net-define, net-start, net-autostart), then migrate again.`));
      } else add(`net-${nic.source}`, `network ${nic.source} is active on ${to}`);
    } else if ((nic.type === 'bridge' || nic.type === 'direct') && nic.source) {
      if (nic.type === 'bridge' && !d.bridges.includes(nic.source)) {
        add(`bridge-${nic.source}`, `bridge ${nic.source} is missing on ${to}`, new UserError(`${g.name} is plugged into the bridge ${nic.source}, which ${to} does not have.`, `Create the bridge ${nic.source} on ${to} (with the same uplink), then migrate again.`));
      } else add(`bridge-${nic.source}`, `${nic.type} ${nic.source} exists on ${to}`);
    }
  }
  if (live) {
    const need = g.memoryKiB;
    if (d.availableMemoryKiB < need) {
      add('memory', `${to} has ${formatBytes(d.availableMemoryKiB * 1024)} free`, new UserError(`${to} has ${formatBytes(d.availableMemoryKiB * 1024)} of memory free and ${g.name} needs ${formatBytes(need * 1024)}.`, `Free memory on ${to} (stop a guest there) or shrink ${g.name}'s memory first.`));
    } else add('memory', `${to} has ${formatBytes(d.availableMemoryKiB * 1024)} free, ${g.name} needs ${formatBytes(need * 1024)}`);
  }
  const clash = d.guests.find((x) => x.name === g.name || x.uuid === g.uuid);
  if (clash) {
    const what = clash.name === g.name ? `a guest named ${g.name}` : `a guest (${clash.name}) with ${g.name}'s UUID ${g.uuid}`;
    add('clash', `${to} already has ${what}`, new UserError(`${to} already has ${what}.`, `Rename or remove that guest on ${to} first; if it is an old copy of this one, delete it there (virtdeck --connect ${to} guest undefine ${clash.name}).`));
  } else add('clash', `no guest named ${g.name} or with its UUID on ${to}`);
  if (g.otherDisks.length > 0) {
    const o2 = g.otherDisks[0] as GuestDisk;
    add('disk-kinds', `${o2.target} is not a file`, new UserError(`${g.name}'s disk ${o2.target} (${o2.source ?? 'no source'}) is not an image file, and virtdeck migrates only guests whose disks are files.`, 'Move that disk\'s data into an image file first, or migrate it with virsh by hand.'));
  }
  for (const iso of g.cdroms) {
    if (!d.existing.includes(iso)) add(`cdrom-${iso}`, `CD-ROM ${iso} is missing on ${to}`, new UserError(`${g.name} has ${iso} in its CD-ROM drive, and ${to} has no such file.`, `Eject it (virtdeck guest edit ${g.name} --eject TARGET), or copy the ISO to the same path on ${to}.`));
  }
  let copy = false;
  if (g.disks.length > 0) {
    if (d.sharedStorage) {
      if (o.copyStorage) {
        add('storage', `the disks are on storage ${to} shares`, new UserError(`The disks of ${g.name} are on storage that ${to} shares (it reads the same files), so copying them would copy each file onto itself.`, 'Leave out --copy-storage: the guest moves without copying its disks.'));
      } else add('storage', `shared storage: ${to} reads the same files (marker seen on both)`);
    } else {
      copy = true;
      const total = g.disks.reduce((n, x) => n + x.fileBytes, 0);
      if (!o.copyStorage) {
        add('storage', `storage is not shared with ${to}`, new UserError(`${to} does not see ${g.name}'s disk files (a marker written here was not there), so they must be copied (${formatBytes(total)}).`, `Add --copy-storage to copy the disks to the same paths on ${to}.`));
      } else {
        const there = g.disks.filter((x) => d.existing.includes(x.source));
        if (there.length > 0) {
          add('dest-files', `${there[0]?.source} exists on ${to}`, new UserError(`${to} already has a file at ${there.map((x) => x.source).join(', ')}, which the copy would overwrite.`, `Move that file away on ${to} (or delete it if it is a stale copy), then migrate again.`));
        }
        const room = Math.min(...g.disks.map((x) => d.availBytes[x.source] ?? 0));
        if (room < total) {
          add('space', `${to} has ${formatBytes(room)} free`, new UserError(`${to} has ${formatBytes(room)} free where the disks go and the copy needs ${formatBytes(total)}.`, `Free space on ${to} (or move the disks to a larger filesystem first).`));
        } else add('space', `not shared (marker not seen there): copy ${formatBytes(total)}; ${to} has ${formatBytes(room)} free`);
      }
    }
  }
  if (g.snapshots.length > 0) {
    add('snapshots', `${g.snapshots.length} snapshot(s)`, new UserError(`${g.name} has snapshots (${g.snapshots.join(', ')}), which a migration cannot carry (they would be lost or left behind).`, `Delete or revert them first (virtdeck snapshot list ${g.name}), then migrate.`));
  }
  if (g.activeJob) {
    add('job', `job running: ${g.activeJob}`, new UserError(`${g.name} has a job running (${g.activeJob}).`, 'Wait for it to end (or cancel it in the Jobs pane), then migrate.'));
  }
  const notes: string[] = [];
  if (g.checkpoints.length > 0) {
    notes.push(`The backup chain ends here: ${g.name}'s checkpoints (${g.checkpoints.join(', ')}) are removed before the move, so its next backup on ${to} is a full one.`);
    add('checkpoints', `${g.checkpoints.length} checkpoint(s): the next backup on ${to} is full`);
  }
  if (live && !copy && g.disks.length > 0 && d.sharedStorage) {
    notes.push(`libvirt cannot tell that ${to} shares these disks (it trusts only filesystems it knows, such as NFS); the marker proved it, so the migration runs with --unsafe. On a network filesystem give the disks cache='none'.`);
  }
  const removeFromSource = removeSourceCheck(f, o, copy, add);
  if (removeFromSource.length > 0) {
    notes.push(`Once ${g.name} ${live ? 'runs' : 'is defined'} on ${to} and checked, its disk files on ${f.source.name} are deleted: ${removeFromSource.join(', ')}.`);
  } else if (copy) notes.push(`The disk files stay on ${f.source.name} after the move; delete them there once ${g.name} runs well on ${to}.`);
  if (o.keepSource) notes.push(`${g.name} stays defined (shut off) on ${f.source.name}: do not start both copies.`);
  return { live, copy, checks, refusals: checks.flatMap((c) => (c.refusal ? [c.refusal] : [])), notes, removeFromSource };
}

/**
 * Pure: the source files --remove-source-disks deletes, or its refusal: only copies (never files
 * the destination reads too), and never under a definition the source keeps.
 */
function removeSourceCheck(f: MigrateFacts, o: MigrateOptions, copy: boolean, add: (id: string, text: string, refusal?: UserError) => void): string[] {
  const g = f.guest;
  if (!o.removeSourceDisks || g.disks.length === 0) return [];
  const to = f.dest.ref.name;
  if (!copy) {
    add('remove-source', `${to} reads the same disk files`, new UserError(`${g.name}'s disks are not copied (${to} reads the same files), so there is nothing left behind on ${f.source.name} to delete.`, 'Leave out --remove-source-disks.'));
    return [];
  }
  if (o.keepSource) {
    add('remove-source', `${g.name} stays defined on ${f.source.name}`, new UserError(`--keep-source keeps ${g.name} defined on ${f.source.name} with its disks, so they cannot be deleted.`, 'Choose one: --keep-source or --remove-source-disks.'));
    return [];
  }
  const paths = g.disks.map((x) => x.source);
  add('remove-source', `after the move, delete on ${f.source.name}: ${paths.join(', ')}`);
  return paths;
}

/** Where a disk is written during an offline copy, beside its final path on the destination. */
export function copyTempPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.virtdeck-migrate`;
}

/** Pure: the plan of a migration whose checks passed. */
export function planMigration(f: MigrateFacts, o: MigrateOptions, review: MigrateReview): Plan {
  const g = f.guest;
  const dest = f.dest.ref;
  const steps: PlanStep[] = [];
  const destDisks = g.disks.map((x) => ({ path: x.source, format: x.format, virtualSize: x.virtualSize }));
  if (g.checkpoints.length > 0) {
    steps.push({
      id: 'drop-checkpoints',
      title: `remove ${g.name}'s checkpoint metadata (the next backup is full)`,
      action: { name: 'migrate.dropCheckpoints', args: { guest: g.name, checkpoints: g.checkpoints } },
      script: g.checkpoints.map((c) => ({ runsOn: 'virsh', argv: ['virsh', 'checkpoint-delete', '--domain', g.name, '--checkpointname', c, '--metadata'] })),
    });
  }
  if (review.live) {
    // libvirt calls any storage it does not know as a cluster filesystem unshared; the marker proved it is.
    const unsafe = !review.copy && g.disks.length > 0 && f.dest.sharedStorage;
    if (review.copy) {
      steps.push({
        id: 'create-dest-disks',
        title: `create empty ${destDisks.map((x) => `${x.format} ${x.path}`).join(', ')} on ${dest.name} (same format and size)`,
        action: { name: 'migrate.createDestDisks', args: { dest, guest: g.name, disks: destDisks } },
        undo: { title: `remove the new images on ${dest.name}`, action: { name: 'migrate.removeDestFiles', args: { dest, guest: g.name, uuid: g.uuid, paths: destDisks.map((x) => x.path) } }, partial: true },
      });
    }
    steps.push({
      id: 'migrate',
      title: `move ${g.name} live to ${dest.name}${review.copy ? ', copying its disks' : ''}`,
      command: {
        runsOn: 'virsh',
        argv: [
          'virsh',
          'migrate',
          '--live',
          '--persistent',
          ...(o.keepSource ? [] : ['--undefinesource']),
          ...(review.copy ? ['--copy-storage-all'] : []),
          ...(o.autoConverge ? ['--auto-converge'] : []),
          ...(o.postCopy ? ['--postcopy', '--postcopy-after-precopy'] : []),
          ...(o.bandwidthMiB ? ['--bandwidth', String(o.bandwidthMiB)] : []),
          ...(unsafe ? ['--unsafe'] : []),
          '--domain',
          g.name,
          '--desturi',
          dest.uri,
          '--migrateuri',
          o.migrateUri,
        ],
      },
      action: {
        name: 'migrate.live',
        args: { guest: g.name, uuid: g.uuid, dest, migrateUri: o.migrateUri, copyStorage: review.copy, keepSource: Boolean(o.keepSource), bandwidthMiB: o.bandwidthMiB, autoConverge: o.autoConverge, postCopy: o.postCopy, unsafe },
      },
      long: true,
      // A cancel that reaches domjobabort after libvirt completed the move leaves the guest there:
      // the job then checks it (verify) instead of undoing the images it now runs on.
      finishes: true,
    });
    steps.push({
      id: 'verify',
      title: `check that ${g.name} runs on ${dest.name} and no longer on ${f.source.name}`,
      action: { name: 'migrate.verify', args: { guest: g.name, uuid: g.uuid, dest, running: true, disks: destDisks, keepSource: Boolean(o.keepSource) } },
    });
  } else {
    if (review.copy) {
      g.disks.forEach((x, i) => {
        const tmp = copyTempPath(x.source);
        steps.push({
          id: `copy-${i}`,
          title: `copy ${x.source} (${formatBytes(x.fileBytes)}) to ${dest.name}:${tmp} over SSH, checksummed`,
          action: { name: 'migrate.copyDisk', args: { dest, from: x.source, to: tmp, bytes: x.fileBytes } },
          undo: { title: `remove ${tmp} on ${dest.name}`, action: { name: 'migrate.removeDestFiles', args: { dest, guest: g.name, uuid: g.uuid, paths: [tmp] } }, partial: true },
          long: true,
        });
      });
      steps.push({
        id: 'place-disks',
        title: `rename the copies into place on ${dest.name}`,
        action: { name: 'migrate.placeDisks', args: { dest, moves: g.disks.map((x) => ({ from: copyTempPath(x.source), to: x.source })) } },
        undo: { title: `remove the placed copies on ${dest.name}`, action: { name: 'migrate.removeDestFiles', args: { dest, guest: g.name, uuid: g.uuid, paths: destDisks.map((x) => x.path) } } },
      });
    }
    steps.push({
      id: 'define-dest',
      title: `define ${g.name} on ${dest.name}`,
      action: { name: 'migrate.defineDest', args: { dest, xml: g.xml } },
      undo: { title: `undefine ${g.name} on ${dest.name}`, action: { name: 'migrate.undefineDest', args: { dest, guest: g.name, uuid: g.uuid } } },
    });
    steps.push({
      id: 'verify',
      title: `check ${g.name} on ${dest.name}: same UUID, every disk there with its format and size`,
      action: { name: 'migrate.verify', args: { guest: g.name, uuid: g.uuid, dest, running: false, disks: destDisks, keepSource: true } },
    });
    if (!o.keepSource) {
      steps.push({
        id: 'undefine-source',
        title: `undefine ${g.name} on ${f.source.name} (its disk files stay)`,
        command: { runsOn: 'virsh', argv: ['virsh', 'undefine', '--domain', g.name, '--keep-nvram'] },
        action: { name: 'migrate.undefineSource', args: { guest: g.name, uuid: g.uuid } },
        undo: { title: `define ${g.name} on ${f.source.name} again`, action: { name: 'migrate.defineSource', args: { xml: g.xml, guest: g.name } } },
      });
    }
  }
  if (review.removeFromSource.length > 0) {
    const paths = review.removeFromSource;
    steps.push({
      id: 'remove-source-disks',
      title: `delete ${paths.join(', ')} on ${f.source.name} (${g.name} ${review.live ? 'runs' : 'is defined'} on ${dest.name} from its copies)`,
      action: { name: 'migrate.removeSourceDisks', args: { guest: g.name, uuid: g.uuid, dest, running: review.live, paths } },
      script: [{ runsOn: 'sys', argv: ['rm', '-f', '--', ...paths] }],
      final: true,
    });
  }
  return {
    kind: MIGRATE_JOB_KIND,
    title: `Migrate ${g.name} to ${dest.name} (${review.live ? 'live' : 'offline'}${review.copy ? ', copying disks' : ''})`,
    targets: { guests: [g.name], images: g.disks.map((x) => x.source) },
    steps,
  };
}
