/**
 * Restore drills: proof that a guest's latest backup really boots. The result of each drill is
 * kept in virtdeck's private state (drills.json, read back through this schema), one entry per
 * host, destination and guest, and drawn in the Backups pane as "restorable, proven 3 days ago"
 * or "drill failed: …". Pure.
 */
import { z } from 'zod';
import { shown } from './shown.js';

const ISO = z.string().max(64);

export const drillResultSchema = z
  .object({
    uri: z.string().max(1024),
    dest: z.string().max(4096),
    guest: z.string().min(1).max(256),
    run: z.string().max(64),
    at: ISO,
    ok: z.boolean(),
    /** Seconds from the start of the copy to the first sign of a boot; null when it never booted. */
    bootSeconds: z.number().nonnegative().nullable(),
    /** How the boot was seen: the serial console's first line, or the guest agent's answer. */
    evidence: z.string().max(200).nullable(),
    /** Why it failed, one sentence. */
    error: z.string().max(500).nullable(),
  })
  .strict();

export type DrillResult = z.infer<typeof drillResultSchema>;

export const drillFileSchema = z.object({ version: z.literal(1), drills: z.array(drillResultSchema).max(10_000) }).strict();

/** Under TCG a real OS takes minutes to print anything; with KVM seconds. */
export const DRILL_TIMEOUT_TCG_S = 600;
export const DRILL_TIMEOUT_KVM_S = 180;

export function defaultDrillTimeout(domainType: 'kvm' | 'qemu'): number {
  return domainType === 'kvm' ? DRILL_TIMEOUT_KVM_S : DRILL_TIMEOUT_TCG_S;
}

/** The throwaway copy's name: GUEST-drill-XXXX, XXXX four random hex digits (a guest name stays within 64 characters). */
export function drillName(guest: string, suffix: string): string {
  return `${guest.slice(0, 52)}-drill-${suffix}`;
}

export function isDrillName(name: string): boolean {
  return /-drill-[0-9a-f]{4}$/.test(name);
}

/** Pure: the serial output → one line worth showing as evidence (guest text: made safe, cut short), or null when empty. */
export function serialEvidence(text: string): string | null {
  const line = text
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  return line ? shown(line).slice(0, 120) : null;
}

/** Pure: the new file with RESULT replacing the earlier drill of the same host, destination and guest. */
export function withDrill(drills: DrillResult[], result: DrillResult): DrillResult[] {
  const same = (d: DrillResult) => d.uri === result.uri && d.dest === result.dest && d.guest === result.guest;
  return [...drills.filter((d) => !same(d)), result];
}

/** Pure: the last drill of GUEST at DEST on URI. */
export function lastDrill(drills: DrillResult[], uri: string, dest: string, guest: string): DrillResult | undefined {
  const norm = (p: string) => p.replace(/\/+$/, '');
  return drills.find((d) => d.uri === uri && norm(d.dest) === norm(dest) && d.guest === guest);
}

function ago(ms: number): string {
  const min = Math.floor(ms / 60_000);
  if (min < 1) return 'just now';
  if (min < 60) return `${min} minute${min === 1 ? '' : 's'} ago`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} hour${h === 1 ? '' : 's'} ago`;
  const d = Math.floor(h / 24);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

/** Pure: "restorable, proven 3 days ago (20261201T020000Z-inc …)" / "drill failed 2 hours ago: …" / "never drilled". */
export function drillText(d: DrillResult | undefined, now: Date, guest = 'GUEST'): string {
  if (!d) return `restore never drilled: virtdeck backup drill ${guest}`;
  const when = ago(Math.max(0, now.getTime() - new Date(d.at).getTime()));
  if (d.ok) return `restorable, proven ${when} (${d.run} booted in ${Math.round(d.bootSeconds ?? 0)} s)`;
  return `drill failed ${when}: ${shown(d.error ?? 'unknown reason')}`;
}
