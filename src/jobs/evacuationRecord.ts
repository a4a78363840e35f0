/**
 * What an evacuation moved, so that `host evacuate --return` brings exactly those guests home: one
 * file per (home host, host they went to) in stateDir()/evacuations, 0600 in a 0700 directory,
 * written atomically, believed only in its zod shape. A guest is written as "moving" before its
 * move starts, so a killed evacuation still knows it may be away.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { assertTrustedDir, readTrustedFile } from '../config/trust.js';
import { writeFileAtomic } from './atomicFile.js';
import { parseStateJson } from './stateSchemas.js';

const refSchema = z.object({ uri: z.string().min(1), name: z.string().min(1), fromConfig: z.boolean() });

const guestSchema = z.object({
  name: z.string().min(1),
  uuid: z.string().regex(/^[0-9a-fA-F-]{32,36}$/),
  mode: z.enum(['live', 'offline']),
  /** moving: its move started; moved: it runs (or is defined) there; failed: its move failed and was undone; returned: it is home again. */
  state: z.enum(['moving', 'moved', 'failed', 'returned']),
  sentence: z.string().optional(),
  /** Disk files the move copied and left at home: out of date while the guest is away. */
  leftFiles: z.array(z.object({ path: z.string().startsWith('/'), format: z.string().min(1), virtualSize: z.number().int().nonnegative() })),
});

export const evacuationSchema = z.object({
  home: z.object({ uri: z.string().min(1), name: z.string().min(1) }),
  to: refSchema,
  updatedAt: z.string().refine((t) => !Number.isNaN(Date.parse(t))),
  guests: z.array(guestSchema),
});

export type EvacuationRecord = z.infer<typeof evacuationSchema>;
export type EvacuatedGuest = EvacuationRecord['guests'][number];

export function evacuationsDir(stateDir: string): string {
  return join(stateDir, 'evacuations');
}

function recordPath(stateDir: string, homeUri: string, toUri: string): string {
  const key = createHash('sha256').update(`${homeUri}\n${toUri}`).digest('hex').slice(0, 20);
  return join(evacuationsDir(stateDir), `${key}.json`);
}

function trustedDir(stateDir: string): string {
  const dir = evacuationsDir(stateDir);
  assertTrustedDir(stateDir, 'state directory');
  assertTrustedDir(dir, 'evacuations directory');
  return dir;
}

function readRecord(path: string): EvacuationRecord | null {
  const text = readTrustedFile(path, 'evacuation record');
  return text === null ? null : parseStateJson(evacuationSchema, text);
}

/** Every record of guests that left `homeUri` (any destination), newest first. */
export function evacuationsFrom(stateDir: string, homeUri: string): EvacuationRecord[] {
  const dir = trustedDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^[0-9a-f]{20}\.json$/.test(n));
  } catch {
    return [];
  }
  return names
    .flatMap((n) => readRecord(join(dir, n)) ?? [])
    .filter((r) => r.home.uri === homeUri)
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}

/** Guests a record still has away (moved, or caught mid-move). */
export function awayGuests(r: EvacuationRecord): EvacuatedGuest[] {
  return r.guests.filter((g) => g.state === 'moved' || g.state === 'moving');
}

/**
 * Changes one guest's entry (adds it when new) and saves the record; a record with nobody away
 * any more is removed: there is nothing left to bring back.
 */
export function updateEvacuated(stateDir: string, key: { home: EvacuationRecord['home']; to: EvacuationRecord['to'] }, guest: EvacuatedGuest): EvacuationRecord {
  trustedDir(stateDir);
  mkdirSync(evacuationsDir(stateDir), { recursive: true, mode: 0o700 });
  const path = recordPath(stateDir, key.home.uri, key.to.uri);
  const old = readRecord(path);
  const guests = (old?.guests ?? []).filter((g) => g.uuid !== guest.uuid);
  const rec: EvacuationRecord = { home: key.home, to: key.to, updatedAt: new Date().toISOString(), guests: [...guests, guest] };
  if (awayGuests(rec).length === 0) rmSync(path, { force: true });
  else writeFileAtomic(path, `${JSON.stringify(rec, null, 2)}\n`, 0o600);
  return rec;
}

/** One guest's entry in the record of (home, to), if any. */
export function evacuatedGuest(stateDir: string, homeUri: string, toUri: string, uuid: string): EvacuatedGuest | undefined {
  trustedDir(stateDir);
  return readRecord(recordPath(stateDir, homeUri, toUri))?.guests.find((g) => g.uuid === uuid);
}
