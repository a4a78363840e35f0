import { Box, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import type { HostContext } from '../../host/hostContext.js';
import { colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';
import { visibleWindow } from './table.js';

/**
 * Picks a file on the host that holds it (through sysExec, so a remote host is browsed over SSH):
 * ↑↓ move, Enter opens a directory or picks a file, ← or Backspace goes to the parent.
 * Files not matching `accept` are shown dimmed and cannot be picked.
 */

export interface DirEntry {
  name: string;
  dir: boolean;
}

/** `ls -1Ap` output → directories first, then files, each sorted; "../" on top except at /. */
export function parseListing(stdout: string, dir: string): DirEntry[] {
  const entries = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => (l.endsWith('/') ? { name: l.slice(0, -1), dir: true } : { name: l, dir: false }));
  entries.sort((a, b) => (a.dir === b.dir ? a.name.localeCompare(b.name) : a.dir ? -1 : 1));
  return dir === '/' ? entries : [{ name: '..', dir: true }, ...entries];
}

export function joinPath(dir: string, name: string): string {
  if (name === '..') return dir.replace(/\/[^/]*$/, '') || '/';
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export async function listDirectory(host: HostContext, dir: string): Promise<DirEntry[]> {
  const r = await host.sysExec.run(['ls', '-1Ap', '--', dir]);
  return parseListing(r.stdout, dir);
}

export function FileBrowser(props: {
  host: HostContext;
  startDir: string;
  accept: (name: string) => boolean;
  onPick: (path: string) => void;
  theme: Theme;
  active: boolean;
  rows?: number;
}) {
  const { theme } = props;
  const rows = props.rows ?? 10;
  const [dir, setDir] = useState(props.startDir);
  const [entries, setEntries] = useState<DirEntry[] | null>(null);
  const [error, setError] = useState('');
  const [cursor, setCursor] = useState(0);
  // Keys can arrive before the handler is re-bound after a render: it reads the screen from here.
  const screen = useRef({ dir, entries, cursor });
  screen.current = { dir, entries, cursor };

  useEffect(() => {
    let live = true;
    setEntries(null);
    setError('');
    listDirectory(props.host, dir)
      .then((e) => {
        if (!live) return;
        setEntries(e);
        setCursor(0);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setError(e instanceof Error ? e.message : String(e));
        setEntries([{ name: '..', dir: true }]);
      });
    return () => {
      live = false;
    };
  }, [dir, props.host]);

  useInput(
    (input, key) => {
      const { dir, entries, cursor } = screen.current;
      if (!entries) return;
      const move = (to: number) => {
        const next = Math.max(0, Math.min(entries.length - 1, to));
        screen.current = { ...screen.current, cursor: next };
        setCursor(next);
      };
      if (key.downArrow) move(cursor + 1);
      else if (key.upArrow) move(cursor - 1);
      else if (key.pageDown) move(cursor + rows);
      else if (key.pageUp) move(cursor - rows);
      else if (key.leftArrow || key.backspace || key.delete) setDir(joinPath(dir, '..'));
      else if (key.return || key.rightArrow) {
        const e = entries[cursor];
        if (!e) return;
        if (e.dir) setDir(joinPath(dir, e.name));
        else if (key.return && props.accept(e.name)) props.onPick(joinPath(dir, e.name));
      } else if (input === '~') setDir('/');
    },
    { isActive: props.active },
  );

  const { start, end } = visibleWindow(entries?.length ?? 0, cursor, rows);
  const shown = (entries ?? []).slice(start, end);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-start" color={colorFor(theme, 'accent')}>
        {dir}
      </Text>
      {entries === null ? <Text color={colorFor(theme, 'muted')}>reading…</Text> : null}
      {error ? (
        <Text color={colorFor(theme, 'error')} wrap="truncate-end">
          {error}
        </Text>
      ) : null}
      {shown.map((e, i) => {
        const here = start + i === cursor;
        const pickable = e.dir || props.accept(e.name);
        return (
          <Text key={e.name} wrap="truncate-end" bold={here} color={here ? colorFor(theme, 'accent') : pickable ? undefined : colorFor(theme, 'muted')}>
            {here ? theme.symbols.pointer : ' '} {e.dir ? `${e.name}/` : e.name}
          </Text>
        );
      })}
    </Box>
  );
}
