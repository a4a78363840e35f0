/**
 * Pure edits of /etc/fstab and sysctl.d files for the host checks' safe fixes. Each returns the new
 * text and the exact line it changed, so the confirmation can name file, line number and content
 * before anything is written; everything else in the file stays byte for byte.
 */
import { UserError } from './userError.js';

export interface LineEdit {
  text: string;
  /** 1-based line number of the changed (or added) line. */
  lineNumber: number;
  before: string | null;
  after: string;
  changed: boolean;
}

/** fstab escapes spaces and tabs in paths as \040 and \011. */
function decodeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  return norm(a) === norm(b);
}

const ATIME_OPTIONS = new Set(['atime', 'noatime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime']);

/** Options with every atime choice replaced by noatime ("defaults" stays, as other options do). */
export function withNoatime(options: string): string {
  const kept = options.split(',').filter((o) => o !== '' && !ATIME_OPTIONS.has(o));
  return [...kept, 'noatime'].join(',');
}

/**
 * Adds noatime to the fstab line that mounts `mountpoint` (the last one, as mount would use it).
 * Throws a UserError when fstab has no such line: the remount then lasts only until reboot.
 */
export function addNoatime(fstab: string, mountpoint: string): LineEdit {
  const lines = fstab.split('\n');
  let index = -1;
  lines.forEach((line, i) => {
    const fields = line.trim().split(/\s+/);
    if (line.trim().startsWith('#') || fields.length < 2) return;
    if (samePath(decodeField(fields[1] as string), mountpoint)) index = i;
  });
  if (index < 0) {
    throw new UserError(
      `/etc/fstab has no line for ${mountpoint}, so noatime cannot be made permanent there.`,
      `Add the mount of ${mountpoint} to /etc/fstab with noatime in its options (findmnt ${mountpoint} shows source and type).`,
    );
  }
  const before = lines[index] as string;
  // Tokens and the whitespace between them, so only the options field changes.
  const parts = before.split(/(\s+)/);
  const lead = parts[0] === '' ? 2 : 0; // a line starting with whitespace
  const optIndex = lead + 6; // field, sep, field, sep, field, sep, OPTIONS
  let after: string;
  if (parts.length > optIndex && parts[optIndex] && !/^\s+$/.test(parts[optIndex] as string)) {
    const current = parts[optIndex] as string;
    if (current.split(',').includes('noatime') && withNoatime(current) === current) {
      return { text: fstab, lineNumber: index + 1, before, after: before, changed: false };
    }
    parts[optIndex] = withNoatime(current);
    after = parts.join('');
  } else {
    after = `${before.replace(/\s+$/, '')}\tdefaults,noatime`;
  }
  lines[index] = after;
  return { text: lines.join('\n'), lineNumber: index + 1, before, after, changed: after !== before };
}

/** Sets `key = value` in a sysctl.d file: replaces the key's line, or appends one. */
export function setSysctl(conf: string, key: string, value: string): LineEdit {
  const lines = conf === '' ? [] : conf.replace(/\n$/, '').split('\n');
  const want = `${key} = ${value}`;
  const keyRe = new RegExp(`^\\s*-?${key.replace(/[.]/g, '[./]')}\\s*=`);
  const index = lines.findIndex((l) => keyRe.test(l));
  if (index >= 0) {
    const before = lines[index] as string;
    const same = before.replace(/\s+/g, '') === want.replace(/\s+/g, '');
    lines[index] = want;
    return { text: `${lines.join('\n')}\n`, lineNumber: index + 1, before, after: want, changed: !same };
  }
  if (lines.length === 0) lines.push('# Written by virtdeck (Host pane safe fixes).');
  lines.push(want);
  return { text: `${lines.join('\n')}\n`, lineNumber: lines.length, before: null, after: want, changed: true };
}

/** A sortable local timestamp for backup names: 20260125T140203. */
export function backupStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}T${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}
