/** The two lists of the Backups pane: guests with their last run, and the runs of one guest. */
import { Box } from 'ink';
import { formatAge, staleSnapshots } from '../../../model/snapshotPlan.js';
import { formatBytes } from '../../../model/units.js';
import type { GuestLine, RunLine } from '../../../store/backupsPane.js';
import { clip, useTheme } from '../../components/Frame.js';
import { Text } from '../../components/Text.js';
import { colorFor, type Theme } from '../../theme.js';

function verifiedMark(theme: Theme, v: { ok: boolean } | null | undefined): string {
  if (!v) return '?';
  return v.ok ? theme.symbols.ok : theme.symbols.error;
}

/** Where a run has copies, in the 8 columns the runs list gives it: the target names, or how many. */
function copiesCell(targets: string[]): string {
  const names = targets.join(',');
  if (targets.length === 0) return '-'.padEnd(8);
  return (names.length <= 8 ? names : `${targets.length} copies`).padEnd(8);
}

function windowOf<T>(rows: T[], index: number, height: number): { rows: T[]; offset: number } {
  const offset = Math.max(0, Math.min(index - height + 1, rows.length - height));
  return { rows: rows.slice(Math.max(offset, 0), Math.max(offset, 0) + height), offset: Math.max(offset, 0) };
}

/** `copies` (of the last run) is null when no copy target is configured: the column is left out. */
export function GuestTable({
  lines,
  index,
  width,
  height,
  maxAgeDays,
  copies,
}: { lines: GuestLine[]; index: number; width: number; height: number; maxAgeDays: number; copies: ((guest: string, run: string) => string[]) | null }) {
  const theme = useTheme();
  const now = Date.now();
  const header = `  ${'GUEST'.padEnd(20)} ${'LAST RUN'.padEnd(9)} ${'KIND'.padEnd(5)} ${'VERIFIED'.padEnd(8)} ${'RUNS'.padStart(4)}  ${copies ? 'COPIES   ' : ''}SNAPSHOTS`;
  const { rows, offset } = windowOf(lines, index, height - 1);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">{clip(header, width, theme.symbols.ellipsis)}</Text>
      {lines.length === 0 ? <Text color={colorFor(theme, 'muted')}>No guests.</Text> : null}
      {rows.map((l, i) => {
        const sel = offset + i === index;
        const last = l.last?.manifest;
        const partial = (l.backups?.partials.length ?? 0) + (l.backups?.damaged.length ?? 0);
        const old = staleSnapshots(l.snapshots, maxAgeDays, new Date(now)).length > 0;
        const snaps = l.snapshots.length ? `${l.snapshots.length}${old ? ` ${theme.symbols.warn} too old` : ''}` : '-';
        const text = `${sel ? theme.symbols.pointer : ' '} ${l.guest.padEnd(20).slice(0, 20)} ${(last ? `${formatAge(now - new Date(last.createdAt).getTime())}` : 'never').padEnd(9)} ${(last ? (last.kind === 'full' ? 'full' : 'inc') : '-').padEnd(5)} ${(last ? verifiedMark(theme, last.verified) : '-').padEnd(8)} ${String(l.backups?.runs.length ?? 0).padStart(4)}  ${copies ? `${copiesCell(l.last ? copies(l.guest, l.last.name) : [])} ` : ''}${snaps}${partial ? `  ${partial} partial` : ''}`;
        return (
          <Text key={l.guest} wrap="truncate" color={sel ? colorFor(theme, 'selected') : old ? colorFor(theme, 'warn') : undefined}>
            {clip(text, width, theme.symbols.ellipsis)}
          </Text>
        );
      })}
    </Box>
  );
}

/** `copies` is null when no copy target is configured (and none holds a copy): the column is left out. */
export function RunTable({ guest, runs, index, width, height, copies }: { guest: string; runs: RunLine[]; index: number; width: number; height: number; copies: ((run: string) => string[]) | null }) {
  const theme = useTheme();
  const now = Date.now();
  const header = `  ${'NAME'.padEnd(22)} ${'KIND'.padEnd(5)} ${'SIZE'.padStart(8)} ${'AGE'.padEnd(8)} ${'VERIFIED'.padEnd(8)} ${copies ? 'COPIES   ' : ''}PARENT`;
  const { rows, offset } = windowOf(runs, index, height - 1);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">{clip(header, width, theme.symbols.ellipsis)}</Text>
      {runs.length === 0 ? <Text color={colorFor(theme, 'muted')}>No runs of {guest} here.</Text> : null}
      {rows.map((r, i) => {
        const sel = offset + i === index;
        const m = r.run?.manifest;
        const size = m ? formatBytes(m.disks.reduce((s, d) => s + d.bytesWritten, 0)) : '';
        const text = m
          ? `${r.name.padEnd(22)} ${(m.kind === 'full' ? 'full' : 'inc').padEnd(5)} ${size.padStart(8)} ${formatAge(now - new Date(m.createdAt).getTime()).padEnd(8)} ${verifiedMark(theme, m.verified).padEnd(8)} ${copies ? `${copiesCell(copies(r.name))} ` : ''}${m.parent ?? '-'}`
          : `${r.name.padEnd(22)} ${r.status.toUpperCase()}: ${r.reason ?? ''}`;
        return (
          <Text key={r.name} wrap="truncate" color={sel ? colorFor(theme, 'selected') : r.status === 'copy' ? colorFor(theme, 'warn') : r.status !== 'good' ? colorFor(theme, 'error') : undefined}>
            {clip(`${sel ? theme.symbols.pointer : ' '} ${text}`, width, theme.symbols.ellipsis)}
          </Text>
        );
      })}
    </Box>
  );
}
