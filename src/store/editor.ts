/**
 * Editing text in the admin's $EDITOR: a temp file, the terminal handed to the editor, the file
 * read back. Used for raw domain XML; the terminal hand-off itself is injected (see ui/terminal.ts).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Executor } from '../host/exec.js';
import type { Env } from '../model/env.js';
import type { HandOff } from './types.js';

function onPath(program: string, env: Env): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

/** $VISUAL, then $EDITOR (both may carry arguments, e.g. "code -w"), then vi, then nano. */
export function editorArgv(env: Env): string[] {
  const chosen = env.VISUAL?.trim() || env.EDITOR?.trim();
  if (chosen) return chosen.split(/\s+/);
  return [onPath('vi', env) || !onPath('nano', env) ? 'vi' : 'nano'];
}

export interface EditResult {
  text: string;
  exitCode: number;
}

export async function editText(exec: Executor, handOff: HandOff, text: string, fileName: string, env: Env): Promise<EditResult> {
  const dir = await mkdtemp(join(tmpdir(), 'virtdeck-edit-'));
  const file = join(dir, fileName);
  try {
    await writeFile(file, text, { mode: 0o600 });
    const exitCode = await handOff(() => exec.interactive([...editorArgv(env), file]));
    return { text: await readFile(file, 'utf8'), exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
