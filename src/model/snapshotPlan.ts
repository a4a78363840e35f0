/**
 * Snapshots for risky changes, pure part: which kind a guest gets, the plans that create, revert
 * and delete one, and the sentences that say what each costs. A snapshot is a way back to a
 * working state, not a backup: keeping one makes every write slower to undo, so old ones are flagged.
 *
 * qcow2-only guests get internal snapshots (memory included while running). Other guests get
 * external disk-only snapshots: each disk's writes go to `<image>.virtdeck-snap-<name>.qcow2`.
 * libvirt 9.0 cannot revert those, so virtdeck does it itself: guest off, a new overlay on the
 * files the snapshot froze, the guest repointed to it.
 */
import { type DomainDoc, getSettings, parseDomainXml, serializeDomainXml, setDiskSource } from './domainXml.js';
import { type GuestDisk, type GuestState, isActive, type SnapshotInfo } from './guest.js';
import type { Plan, PlanStep } from './plan.js';
import { UserError } from './userError.js';

export const SNAPSHOT_OVERLAY_MARK = '.virtdeck-snap-';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateSnapshotName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new UserError(
      `"${name}" cannot be a snapshot name: it goes into file names, so it may hold letters, digits, '.', '_' and '-' (up to 64, starting with a letter or digit).`,
      'Choose a name such as before-update or pre-2024-upgrade.',
    );
  }
  return name;
}

/** The overlay an external snapshot of `image` puts new writes in. */
export function snapshotOverlayPath(image: string, name: string): string {
  return `${image}${SNAPSHOT_OVERLAY_MARK}${name}.qcow2`;
}

/** The fresh overlay a revert starts the guest on; the time keeps repeated reverts apart. */
export function revertOverlayPath(base: string, name: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${base}${SNAPSHOT_OVERLAY_MARK}${name}.r${stamp}.qcow2`;
}

export function isSnapshotOverlay(path: string | null | undefined): boolean {
  return Boolean(path?.includes(SNAPSHOT_OVERLAY_MARK) && path.endsWith('.qcow2'));
}

/** "12 min", "5 h", "3 days": how long ago, as people say it. */
export function formatAge(ms: number): string {
  const min = Math.floor(Math.max(ms, 0) / 60_000);
  if (min < 1) return 'moments';
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h`;
  const d = Math.floor(h / 24);
  return `${d} days`;
}

function snapshotDisks(disks: GuestDisk[]): GuestDisk[] {
  return disks.filter((d) => d.device === 'disk' && d.source);
}

export interface SnapshotKindChoice {
  kind: 'internal' | 'external';
  why: string;
}

/** Internal when every disk is qcow2 and nothing external is in the way; external otherwise. */
export function chooseSnapshotKind(disks: GuestDisk[], snapshots: SnapshotInfo[]): SnapshotKindChoice {
  const ds = snapshotDisks(disks);
  const notQcow2 = ds.filter((d) => d.format !== 'qcow2');
  if (notQcow2.length > 0) {
    return { kind: 'external', why: `${notQcow2.map((d) => `${d.target} is ${d.format ?? 'of unknown format'}`).join(', ')}: only qcow2 holds snapshots inside` };
  }
  if (snapshots.some((s) => s.location === 'external') || ds.some((d) => isSnapshotOverlay(d.source))) {
    return { kind: 'external', why: 'the guest already has an external snapshot' };
  }
  return { kind: 'internal', why: 'every disk is qcow2' };
}

export interface SnapshotFacts {
  uri: string;
  guest: string;
  state: GuestState;
  disks: GuestDisk[];
  snapshots: SnapshotInfo[];
  /** Paths among the planned overlays that exist already. */
  existing?: string[];
  /** `virsh dumpxml --inactive`, for the steps that repoint disks. */
  inactiveXml?: string;
  /** Backing file of each current disk source (qemu-img info), for delete. */
  backingOf?: Record<string, string | null>;
}

export interface SnapshotPlanOptions {
  /** Local private file the define steps write the new XML to. */
  xmlFile: string;
  now?: Date;
}


const virsh = (uri: string, ...args: string[]) => ['virsh', '-c', uri, ...args];

/** virsh's --diskspec is comma-separated; a comma inside a path is written twice. */
function diskspecFile(path: string): string {
  return path.replace(/,/g, ',,');
}

// ---------------------------------------------------------------------------------------------
// Domain XML: disks pointed at other files

export interface DiskRepoint {
  target: string;
  file: string;
  format: string;
}

/** Pure: the inactive XML with each named disk on its new file (backing chain left to libvirt to probe). */
export function repointDisksXml(xml: string, changes: DiskRepoint[]): string {
  let doc: DomainDoc = parseDomainXml(xml);
  const targets = getSettings(doc).disks.map((d) => d.target);
  for (const c of changes) {
    if (!targets.includes(c.target)) throw new UserError(`The guest has no disk ${c.target}.`, 'Read its disks again; the definition changed since the plan was made.');
    doc = setDiskSource(doc, c.target, c.file, c.format);
  }
  return serializeDomainXml(doc);
}

function defineStep(id: string, title: string, facts: SnapshotFacts, opts: SnapshotPlanOptions, newXml: string): PlanStep {
  const oldXml = facts.inactiveXml;
  if (!oldXml) throw new UserError(`virtdeck has not read ${facts.guest}'s definition.`, 'Read it first (virsh dumpxml --inactive).');
  return {
    id,
    title,
    command: { runsOn: 'virsh', argv: virsh(facts.uri, 'define', '--file', opts.xmlFile) },
    writesFile: { path: opts.xmlFile, content: newXml },
    undo: { title: `give ${facts.guest} its previous definition back`, action: { name: 'snapshot.defineXml', args: { xml: oldXml } }, partial: true },
  };
}

// ---------------------------------------------------------------------------------------------
// Create

export interface CreateSnapshotRequest {
  name: string;
  description?: string;
}

export function planCreateSnapshot(req: CreateSnapshotRequest, facts: SnapshotFacts): Plan {
  const name = validateSnapshotName(req.name);
  if (facts.snapshots.some((s) => s.name === name)) {
    throw new UserError(`${facts.guest} already has a snapshot called "${name}".`, 'Choose another name, or delete the old snapshot first.');
  }
  const disks = snapshotDisks(facts.disks);
  if (disks.length === 0) throw new UserError(`${facts.guest} has no disk to snapshot.`, 'Attach a disk first.');
  const choice = chooseSnapshotKind(facts.disks, facts.snapshots);
  const running = isActive(facts.state);
  const desc = req.description ? ['--description', req.description] : [];
  if (choice.kind === 'internal') {
    return {
      kind: 'snapshot-create',
      title: `snapshot ${facts.guest} as "${name}" (internal${running ? ', with memory' : ''})`,
      targets: { guests: [facts.guest], images: disks.map((d) => d.source as string) },
      steps: [
        {
          id: 'create',
          title: `take internal snapshot "${name}" of ${facts.guest}${running ? ' with its memory state' : ''}`,
          command: { runsOn: 'virsh', argv: virsh(facts.uri, 'snapshot-create-as', '--domain', facts.guest, '--name', name, ...desc), timeoutMs: 600_000 },
        },
      ],
    };
  }
  const specs: string[] = [];
  const overlays: string[] = [];
  for (const d of facts.disks) {
    if (d.device !== 'disk' || !d.source) {
      if (d.source) specs.push('--diskspec', `${d.target},snapshot=no`);
      continue;
    }
    if (d.source.startsWith('/dev/')) {
      throw new UserError(
        `${facts.guest}'s disk ${d.target} is the block device ${d.source}; virtdeck puts snapshot overlays beside the image, which a device has not.`,
        'Use LVM snapshots for block devices, or take a backup instead.',
      );
    }
    const overlay = snapshotOverlayPath(d.source, name);
    if (facts.existing?.includes(overlay)) {
      throw new UserError(`The overlay file ${overlay} already exists.`, 'Move it away (it may be left from an earlier snapshot), or choose another name.');
    }
    overlays.push(overlay);
    specs.push('--diskspec', `${d.target},snapshot=external,file=${diskspecFile(overlay)}`);
  }
  return {
    kind: 'snapshot-create',
    title: `snapshot ${facts.guest} as "${name}" (external, disk only)`,
    targets: { guests: [facts.guest], images: [...disks.map((d) => d.source as string), ...overlays] },
    steps: [
      {
        id: 'create',
        title: `take external disk-only snapshot "${name}" of ${facts.guest} (${choice.why}); new writes go to ${overlays.join(', ')}`,
        // --atomic: either every disk moves to its overlay or none does, so the step needs no undo.
        command: {
          runsOn: 'virsh',
          argv: virsh(facts.uri, 'snapshot-create-as', '--domain', facts.guest, '--name', name, ...desc, '--disk-only', '--atomic', ...specs),
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Revert

function findSnapshot(facts: SnapshotFacts, name: string): SnapshotInfo {
  const s = facts.snapshots.find((x) => x.name === name);
  if (!s) throw new UserError(`${facts.guest} has no snapshot called "${name}".`, `Run \`virtdeck snapshot list ${facts.guest}\` to see its snapshots.`);
  return s;
}

/** The confirm sentence: what a revert throws away. */
export function revertLoss(guest: string, snap: SnapshotInfo, state: GuestState, now: Date = new Date()): string {
  const age = formatAge(now.getTime() - snap.createdAt.getTime());
  const memory = isActive(state) ? (snap.withMemory ? ', and what it is doing now (it resumes as it was then)' : `, and ${guest} is forced off`) : '';
  return `Everything written to ${guest} since '${snap.name}' (${age} ago) is lost${memory}.`;
}

export interface RevertOptions extends SnapshotPlanOptions {
  /** External: delete the overlay holding the writes since the snapshot (default: keep it). */
  removeAbandoned?: boolean;
  /** External: start the guest again afterwards (default: when it was running). */
  start?: boolean;
}

export function planRevertSnapshot(name: string, facts: SnapshotFacts, opts: RevertOptions): Plan {
  const snap = findSnapshot(facts, name);
  const running = isActive(facts.state);
  if (snap.location === 'internal') {
    return {
      kind: 'snapshot-revert',
      title: `revert ${facts.guest} to "${name}"`,
      targets: { guests: [facts.guest], images: snapshotDisks(facts.disks).map((d) => d.source as string) },
      steps: [
        {
          id: 'revert',
          title: `revert ${facts.guest} to internal snapshot "${name}"`,
          command: { runsOn: 'virsh', argv: virsh(facts.uri, 'snapshot-revert', '--domain', facts.guest, '--snapshotname', name), timeoutMs: 600_000 },
        },
      ],
    };
  }
  const now = opts.now ?? new Date();
  const steps: PlanStep[] = [];
  if (running) {
    steps.push({ id: 'stop', title: `force ${facts.guest} off (its current state is what the revert discards)`, command: { runsOn: 'virsh', argv: virsh(facts.uri, 'destroy', '--domain', facts.guest) } });
  }
  const repoints: DiskRepoint[] = [];
  const abandoned: string[] = [];
  for (const d of snap.disks.filter((x) => x.snapshot === 'external')) {
    if (!d.base || !d.baseFormat) {
      throw new UserError(`Snapshot "${name}" does not record which file ${d.target} was on.`, 'Revert by hand: point the disk at the file it was on when the snapshot was taken.');
    }
    const overlay = revertOverlayPath(d.base, name, now);
    steps.push({
      id: `overlay-${d.target}`,
      title: `new overlay for ${d.target} on ${d.base} (the file snapshot "${name}" froze)`,
      command: { runsOn: 'sys', argv: ['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', d.baseFormat, '-b', d.base, overlay] },
      undo: { title: `remove ${overlay}`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', overlay] }, partial: true },
    });
    repoints.push({ target: d.target, file: overlay, format: 'qcow2' });
    const current = facts.disks.find((x) => x.target === d.target)?.source;
    if (current && current !== d.base && isSnapshotOverlay(current)) abandoned.push(current);
  }
  if (!facts.inactiveXml) throw new UserError(`virtdeck has not read ${facts.guest}'s definition.`, 'Read it first (virsh dumpxml --inactive).');
  steps.push(defineStep('repoint', `point ${repoints.map((r) => r.target).join(', ')} of ${facts.guest} at the new overlays`, facts, opts, repointDisksXml(facts.inactiveXml, repoints)));
  if (opts.removeAbandoned && abandoned.length > 0) {
    steps.push({ id: 'remove-abandoned', title: `delete the abandoned overlays ${abandoned.join(', ')} (asked for)`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', ...abandoned] } });
  }
  if (opts.start ?? running) {
    steps.push({ id: 'start', title: `start ${facts.guest} again`, command: { runsOn: 'virsh', argv: virsh(facts.uri, 'start', '--domain', facts.guest) } });
  }
  return {
    kind: 'snapshot-revert',
    title: `revert ${facts.guest} to "${name}" (virtdeck's own method: libvirt 9.0 cannot revert external snapshots)`,
    targets: { guests: [facts.guest], images: [...repoints.map((r) => r.file), ...abandoned] },
    steps,
  };
}

/** What an external revert leaves behind, for the confirm and the summary. */
export function abandonedOverlays(name: string, facts: SnapshotFacts): string[] {
  const snap = findSnapshot(facts, name);
  return snap.disks
    .filter((d) => d.snapshot === 'external')
    .map((d) => facts.disks.find((x) => x.target === d.target)?.source ?? null)
    .filter((p): p is string => isSnapshotOverlay(p));
}

// ---------------------------------------------------------------------------------------------
// Delete

export interface DeleteOptions extends SnapshotPlanOptions {
  /** Also delete overlays an earlier revert abandoned (kept unless asked). */
  removeAbandoned?: boolean;
}

export interface CommitDiskArgs {
  guest: string;
  target: string;
  overlay: string;
  base: string;
  baseFormat: string;
}

export function planDeleteSnapshot(name: string, facts: SnapshotFacts, opts: DeleteOptions): Plan {
  const snap = findSnapshot(facts, name);
  if (snap.location === 'internal') {
    return {
      kind: 'snapshot-delete',
      title: `delete snapshot "${name}" of ${facts.guest}`,
      targets: { guests: [facts.guest], images: snapshotDisks(facts.disks).map((d) => d.source as string) },
      steps: [
        {
          id: 'delete',
          title: `delete internal snapshot "${name}" (its data stays in the image only as long as another snapshot needs it)`,
          command: { runsOn: 'virsh', argv: virsh(facts.uri, 'snapshot-delete', '--domain', facts.guest, '--snapshotname', name), timeoutMs: 600_000 },
        },
      ],
    };
  }
  const children = facts.snapshots.filter((s) => s.parent === name);
  if (children.length > 0) {
    throw new UserError(
      `Snapshot "${name}" has newer snapshots built on it (${children.map((c) => c.name).join(', ')}).`,
      'Delete the newest snapshot first; external snapshots merge back one at a time.',
    );
  }
  const running = isActive(facts.state);
  const steps: PlanStep[] = [];
  const removed: string[] = [];
  for (const d of snap.disks.filter((x) => x.snapshot === 'external')) {
    if (!d.base || !d.baseFormat) throw new UserError(`Snapshot "${name}" does not record which file ${d.target} was on.`, 'Merge the overlay by hand with virsh blockcommit.');
    const current = facts.disks.find((x) => x.target === d.target)?.source ?? null;
    if (current === d.base) continue; // merged already (an interrupted delete got this far)
    if (!current || !isSnapshotOverlay(current)) {
      throw new UserError(`${facts.guest}'s disk ${d.target} is on ${current ?? 'no file'}, not on an overlay of snapshot "${name}".`, 'Look at the disk with `virtdeck snapshot list`; merge by hand if it was changed outside virtdeck.');
    }
    const backing = facts.backingOf?.[current];
    if (backing !== undefined && backing !== d.base) {
      throw new UserError(`The overlay ${current} builds on ${backing ?? 'nothing'}, not on ${d.base}, the file snapshot "${name}" froze.`, 'Merge it by hand (virsh blockcommit); virtdeck will not guess.');
    }
    const args: CommitDiskArgs = { guest: facts.guest, target: d.target, overlay: current, base: d.base, baseFormat: d.baseFormat };
    steps.push({
      id: `commit-${d.target}`,
      title: `merge ${current} back into ${d.base}`,
      command: running
        ? { runsOn: 'virsh', argv: virsh(facts.uri, 'blockcommit', '--domain', facts.guest, '--path', d.target, '--active', '--pivot', '--wait') }
        : { runsOn: 'sys', argv: ['qemu-img', 'commit', '-q', '-f', 'qcow2', current] },
      // The action looks at the disk first, so a journal finished after a crash does not commit twice.
      action: { name: 'snapshot.commitDisk', args },
      long: true,
    });
    removed.push(current);
    if (opts.removeAbandoned && d.overlay && d.overlay !== current) removed.push(d.overlay);
  }
  if (removed.length > 0) {
    steps.push({ id: 'remove-overlays', title: `delete the merged overlay files ${removed.join(', ')}`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', ...removed] } });
  }
  steps.push({
    id: 'forget',
    title: `remove snapshot "${name}" from libvirt's list`,
    command: { runsOn: 'virsh', argv: virsh(facts.uri, 'snapshot-delete', '--domain', facts.guest, '--snapshotname', name, '--metadata') },
  });
  return {
    kind: 'snapshot-delete',
    title: `delete snapshot "${name}" of ${facts.guest} (merge the newer writes back${running ? ' live' : ''})`,
    targets: { guests: [facts.guest], images: [...snap.disks.map((d) => d.base).filter((b): b is string => Boolean(b)), ...removed] },
    steps,
  };
}

// ---------------------------------------------------------------------------------------------
// Age flags

export interface StaleSnapshot {
  name: string;
  ageMs: number;
}

export function staleSnapshots(snapshots: SnapshotInfo[], maxAgeDays: number, now: Date = new Date()): StaleSnapshot[] {
  const limit = maxAgeDays * 86_400_000;
  return snapshots
    .map((s) => ({ name: s.name, ageMs: now.getTime() - s.createdAt.getTime() }))
    .filter((s) => s.ageMs > limit)
    .sort((a, b) => b.ageMs - a.ageMs);
}

/** The warning line for the Guests and Backups panes, or null when nothing is too old. */
export function staleSnapshotWarning(snapshots: SnapshotInfo[], maxAgeDays: number, now: Date = new Date()): string | null {
  const stale = staleSnapshots(snapshots, maxAgeDays, now);
  const oldest = stale[0];
  if (!oldest) return null;
  const more = stale.length > 1 ? ` (and ${stale.length - 1} more)` : '';
  return `snapshot "${oldest.name}" kept for ${formatAge(oldest.ageMs)}${more}; snapshots are for backing out of a change, not for keeping (older than ${maxAgeDays} days).`;
}

/** Snapshots as a tree, parents before children, for `snapshot list` and the pane. */
export function snapshotTree(snapshots: SnapshotInfo[]): { snap: SnapshotInfo; depth: number }[] {
  const out: { snap: SnapshotInfo; depth: number }[] = [];
  const names = new Set(snapshots.map((s) => s.name));
  const walk = (parent: string | null, depth: number) => {
    const children = snapshots.filter((x) => (x.parent && names.has(x.parent) ? x.parent : null) === parent);
    for (const s of children.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) {
      out.push({ snap: s, depth });
      walk(s.name, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}
