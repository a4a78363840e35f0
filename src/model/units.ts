import { UserError } from './userError.js';

/**
 * Sizes as admins type them and as tables show them. Every suffix means a power of 1024
 * (G = GiB), the way qemu-img and virsh read them, so "20G" here is the same disk there.
 * A number needs its unit: qemu-img reads a bare 100 as bytes, an admin usually means MiB or GiB,
 * and either guess silently does the wrong thing, so a bare number other than 0 is refused (bytes
 * are written 100B). Memory fields that say "MiB" in their label parse the bare number themselves.
 */

const IEC_EXPONENT: Record<string, number> = { '': 0, B: 0, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6 };

export interface ParsedSize {
  bytes: number;
  /** "+15G": grow by this much rather than set to this size. */
  relative: boolean;
}

const SIZE_RE = /^(\+)?(\d+(?:\.\d+)?|\.\d+)\s*([KMGTPE](?:i?B)?|B)?$/i;

/** Parses "20G", "+15G", "512M", "1.5T", "1048576B" into bytes. */
export function parseSize(text: string): ParsedSize {
  const trimmed = text.trim();
  if (trimmed.startsWith('-')) {
    throw new UserError(`The size "${text}" is negative.`, 'Give a size like 20G, or +5G to grow by 5 GiB.');
  }
  const m = SIZE_RE.exec(trimmed);
  if (!m) {
    throw new UserError(
      `"${text}" is not a size.`,
      'Write a number with an optional unit K, M, G or T (powers of 1024), for example 20G, 512M, 1.5T or +10G.',
    );
  }
  if (m[3] === undefined && Number(m[2]) !== 0) {
    throw new UserError(
      `The size "${trimmed}" has no unit.`,
      `Add one: ${m[1] ?? ''}${m[2]}M (MiB), ${m[1] ?? ''}${m[2]}G (GiB), or ${m[1] ?? ''}${m[2]}B for bytes; K, M, G, T are powers of 1024.`,
    );
  }
  const exponent = IEC_EXPONENT[(m[3] ?? '').charAt(0).toUpperCase()] ?? 0;
  const bytes = Math.round(Number(m[2]) * 1024 ** exponent);
  if (!Number.isSafeInteger(bytes)) {
    throw new UserError(`The size "${text}" is too large.`, 'Give a size below 8 PiB.');
  }
  return { bytes, relative: m[1] === '+' };
}

const SHORT_UNITS = ['B', 'K', 'M', 'G', 'T', 'P', 'E'];
const LONG_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

function scale(bytes: number): { value: number; exponent: number } {
  let value = Math.abs(bytes);
  let exponent = 0;
  while (value >= 1024 && exponent < SHORT_UNITS.length - 1) {
    value /= 1024;
    exponent++;
  }
  return { value: Math.sign(bytes) * value, exponent };
}

/** Compact size for 80-column tables: "512B", "1.0G", "9.5G", "20G", "512M". */
export function formatBytes(bytes: number): string {
  let { value, exponent } = scale(bytes);
  if (exponent === 0) return `${Math.round(value)}B`;
  // Below 10 one decimal tells 1.0G from 1.5G; above it the decimal is noise in a table.
  let text = Math.abs(value) < 10 ? value.toFixed(1) : Math.round(value).toString();
  if (Math.abs(Number(text)) >= 1024 && exponent < SHORT_UNITS.length - 1) {
    exponent++;
    value /= 1024;
    text = value.toFixed(1);
  } else if (Math.abs(value) < 10 && Math.abs(Number(text)) >= 10) {
    text = Math.round(value).toString();
  }
  return `${text}${SHORT_UNITS[exponent]}`;
}

/** Size for sentences and detail panes: "12.4 GiB", "512.0 MiB", "300 B". */
export function formatBytesLong(bytes: number): string {
  let { value, exponent } = scale(bytes);
  if (exponent === 0) return `${Math.round(value)} B`;
  if (Number(value.toFixed(1)) >= 1024 && exponent < LONG_UNITS.length - 1) {
    value /= 1024;
    exponent++;
  }
  return `${value.toFixed(1)} ${LONG_UNITS[exponent]}`;
}

/** libvirt reports memory in KiB (`<memory unit='KiB'>`, `virsh dominfo`). */
export function kibToHuman(kib: number): string {
  return formatBytes(kib * 1024);
}

/**
 * libvirt's scaled integers (`<memory unit='GiB'>4</memory>`): decimal units (KB, MB) are powers
 * of 1000, binary ones (k, KiB, M, MiB) powers of 1024; with no unit the element's default applies.
 */
export function libvirtScaledToBytes(value: string, unit: string | undefined, defaultUnit = 'KiB'): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new UserError(`"${value}" is not a whole number.`, 'libvirt sizes are whole numbers with a unit attribute, e.g. <memory unit="KiB">524288</memory>.');
  }
  const u = (unit ?? defaultUnit).trim();
  if (u === 'b' || u === 'bytes') return n;
  const m = /^([kmgtpe])(i?b)?$/i.exec(u);
  if (!m) {
    throw new UserError(`"${u}" is not a unit libvirt knows.`, 'Use one of b, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000).');
  }
  const exponent = 'kmgtpe'.indexOf((m[1] ?? 'k').toLowerCase()) + 1;
  const decimal = m[2] !== undefined && m[2].toLowerCase() === 'b';
  return n * (decimal ? 1000 : 1024) ** exponent;
}
