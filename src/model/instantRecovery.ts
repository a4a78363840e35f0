/**
 * Instant recovery: a guest started straight from a backup run, its writes going to a new qcow2
 * overlay per disk whose backing file is the run's image (the run itself is only ever read). Pure
 * parts: the definition the copy gets, and the record that says which runs it still reads.
 *
 * The record is what keeps prune and retention from deleting a run under a running guest, and
 * what `backup instant discard` removes (only what the record names). It lives in virtdeck's
 * private state directory, never beside the backups (a destination is outside input).
 */
import { z } from 'zod';
import { childElements, type DomainDoc, domainRoot, el, firstChild, getSettings, setDiskSource, setDomainType, setMac, setName, setUuid } from './domainXml.js';
import { checkRestoreXml } from './restoreXml.js';

export const INSTANT_SUFFIX = '-instant';
/** Overlay files end so, which tells them from every other image in the directory. */
export const OVERLAY_SUFFIX = '.instant.qcow2';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
const RUN = /^\d{8}T\d{6}Z-(full|inc)$/;
const ABS = z.string().max(4096).refine((p) => p.startsWith('/') && !p.split('/').some((s) => s === '.' || s === '..'), 'an absolute, normalised path');

export const instantRecordSchema = z
  .object({
    version: z.literal(1),
    /** The guest started from the backup. */
    name: z.string().regex(NAME),
    /** The guest the backup is of. */
    guest: z.string().min(1).max(256),
    dest: ABS,
    run: z.string().regex(RUN),
    /** Every run the overlays read through, full first (this run last). */
    chain: z.array(z.string().regex(RUN)).min(1),
    uri: z.string().max(1024),
    overlays: z.array(z.object({ target: z.string().regex(/^[a-z][a-z0-9]{1,31}$/), path: ABS, backing: ABS }).strict()).min(1),
    /** With --as GUEST over a shut-off original: its definition, put back on discard. */
    originalXml: z.string().nullable(),
    createdAt: z.string().max(64),
    /** The serial console log virtdeck asked libvirt for (drills read it to see the boot); removed on discard. */
    serialLog: ABS.nullable().optional(),
  })
  .strict();

export type InstantRecord = z.infer<typeof instantRecordSchema>;

/** The default name of the copy: GUEST-instant. */
export function instantName(guest: string): string {
  return `${guest}${INSTANT_SUFFIX}`;
}

export function overlayFileName(name: string, target: string): string {
  return `${name}-${target}${OVERLAY_SUFFIX}`;
}

/** Pure: every interface gets `<link state='down'/>`, so the copy is on no LAN until an admin plugs it in. */
export function setLinksDown(doc: DomainDoc): DomainDoc {
  const copy = structuredClone(doc);
  const devices = firstChild(domainRoot(copy), 'devices');
  for (const nic of devices ? childElements(devices, 'interface') : []) {
    const link = firstChild(nic, 'link');
    if (link) link.attrs = { state: 'down' };
    else nic.children.push(el('link', { state: 'down' }));
  }
  return copy;
}

/**
 * Pure: the first serial port's output also goes to LOG (libvirt's virtlogd writes it, emptied at
 * each start), a file virtdeck names itself. Added after the restore gate, which refuses a <log>
 * the run's own XML names. False when the guest has no serial port (a drill then waits for the agent).
 */
export function setSerialLog(doc: DomainDoc, log: string): { doc: DomainDoc; logged: boolean } {
  const copy = structuredClone(doc);
  const devices = firstChild(domainRoot(copy), 'devices');
  const serial = devices ? childElements(devices, 'serial').find((s) => s.attrs.type === 'pty') : undefined;
  if (!serial) return { doc: copy, logged: false };
  serial.children = serial.children.filter((c) => !(c.kind === 'element' && c.name === 'log'));
  serial.children.push(el('log', { file: log, append: 'off' }));
  return { doc: copy, logged: true };
}

export interface InstantXmlOptions {
  /** The run's domain.xml path, named in refusals. */
  source: string;
  name: string;
  /** The disks the copy gets: target, its overlay. */
  overlays: { target: string; path: string }[];
  /** A new identity (UUID dropped, these MACs, one per NIC); null keeps the run's (same-name recovery). */
  newMacs: string[] | null;
  /** Same-name recovery over a guest still defined: its UUID, or libvirt refuses the define. */
  uuid: string | null;
  isolated: boolean;
  domainType: 'kvm' | 'qemu';
  /** The serial log file to ask for (drills), or none. */
  serialLog?: string | null;
}

/**
 * Pure: the copy's definition. The run's XML passes the restore gate (restoreXml.ts) as for a new
 * guest, so disks not in the backup are left out and nothing of it names a host file; then each
 * backed-up disk points at its overlay.
 */
export function instantXml(runXml: DomainDoc, o: InstantXmlOptions): { doc: DomainDoc; notes: string[] } {
  const checked = checkRestoreXml(runXml, { source: o.source, restored: o.overlays.map((d) => d.target), asNew: true, currentSources: [] });
  let doc = checked.doc;
  const notes = [...checked.notes];
  for (const d of o.overlays) doc = setDiskSource(doc, d.target, d.path, 'qcow2');
  doc = setName(doc, o.name);
  if (o.newMacs) {
    doc = setUuid(doc, null);
    getSettings(doc).nics.forEach((_nic, i) => {
      const mac = o.newMacs?.[i];
      if (mac) doc = setMac(doc, i, mac);
    });
  } else if (o.uuid) doc = setUuid(doc, o.uuid);
  if (o.isolated) {
    doc = setLinksDown(doc);
    if (getSettings(doc).nics.length > 0) notes.push(`${o.name} starts with its network links down (--isolated); plug one in with virsh domif-setlink ${o.name} IFACE up.`);
  }
  if (o.serialLog) doc = setSerialLog(doc, o.serialLog).doc;
  if (getSettings(doc).type === 'kvm' && o.domainType === 'qemu') {
    doc = setDomainType(doc, 'qemu');
    notes.push('KVM is not usable on this host, so the copy runs under plain emulation (domain type qemu).');
  }
  return { doc, notes };
}

/** Pure: the runs of DEST that the recorded instant guests read, as GUEST/RUN → the guests. */
export function runsInUse(records: InstantRecord[], dest: string): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const norm = (p: string) => p.replace(/\/+$/, '');
  for (const r of records.filter((x) => norm(x.dest) === norm(dest))) {
    for (const run of r.chain) {
      const key = `${r.guest}/${run}`;
      used.set(key, [...(used.get(key) ?? []), r.name]);
    }
  }
  return used;
}

/** Pure: the listing of `backup instant list` and of I in the Backups pane (state: what libvirt says now, or 'gone'). */
export function instantListLines(entries: (InstantRecord & { state: string })[], uri: string): string[] {
  if (entries.length === 0) return [`No guest on ${uri} runs from a backup (virtdeck backup instant).`];
  return entries.flatMap((e) => [
    `${e.name}  ${e.state}  from ${e.guest} ${e.run} in ${e.dest}, since ${e.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    ...e.overlays.map((o) => `  ${o.target}: ${o.path} over ${o.backing}`),
    `  reads ${e.chain.join(', ')}; prune keeps them. Move it home: virtdeck backup instant finish ${e.name} --to DIR; or: virtdeck backup instant discard ${e.name}`,
  ]);
}
