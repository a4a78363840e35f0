import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupSchedule, checkSchedule, cronFileText, systemdUnits } from '../../src/model/schedule.js';
import { UserError } from '../../src/model/userError.js';

/**
 * Item 8: the schedule files pass a destination with `$` and `%` through to virtdeck as written.
 * cron turns an unescaped `%` into a newline; systemd expands `%h`-style specifiers and `$VARS`
 * inside ExecStart, quoted or not. Each file is read the way its daemon reads it (cron's own
 * percent rule, ported; systemd's specifiers and variables, plus `systemd-analyze verify`), then the
 * command runs with a recorder standing in for virtdeck: the --dest it receives must be the path.
 */
let dir = '';
let recorder = '';
let record = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdsec-in-sched-'));
  recorder = join(dir, 'virtdeck-recorder');
  record = join(dir, 'argv.log');
  writeFileSync(recorder, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> '${record}'\necho ---- >> '${record}'\n`);
  chmodSync(recorder, 0o755);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** cron's do_command: `\%` is a literal %, the first other % ends the command (the rest is stdin). */
function cronCommand(field: string): string {
  let out = '';
  let escaped = false;
  for (const ch of field) {
    if (escaped) {
      if (ch === '%') out = `${out.slice(0, -1)}%`;
      else out += ch;
      escaped = false;
      continue;
    }
    if (ch === '\\') escaped = true;
    if (ch === '%') break;
    out += ch;
  }
  return out;
}

/** systemd's ExecStart: %-specifiers (%% literal, %h the home, an unknown one is an error), then $$ / $VAR / ${VAR}. */
function systemdExpand(line: string): string {
  const specified = line.replace(/%(.)/g, (_m, c: string) => {
    if (c === '%') return '%';
    if (c === 'h') return '/root';
    throw new Error(`systemd: unknown specifier %${c}`);
  });
  return specified.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_m, whole: string, braced?: string, bare?: string) => (whole === '$' ? '$' : (process.env[braced ?? bare ?? ''] ?? '')));
}

function recordedDests(): string[] {
  const words = readFileSync(record, 'utf8').split('\n');
  return words.flatMap((w, i) => (w === '--dest' ? [words[i + 1] ?? ''] : []));
}

const DESTS = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's ${PATH}, not a template
  ['$ only', () => join(dir, 'backups $HOME ${PATH}')],
  ['$ and %', () => join(dir, "vdsec 100% of %h $HOME it's")],
] as const;

describe('backup schedule files keep $ and % in the destination', () => {
  it.each(DESTS)('cron line (%s): cron runs the backup with --dest exactly the path', (_what, destOf) => {
    const dest = destOf();
    rmSync(record, { force: true });
    const s: BackupSchedule = checkSchedule({ at: '02:30', days: [], dest });
    const line = cronFileText(s, [recorder], join(dir, 'schedule.log')).split('\n').find((l) => /^\d/.test(l)) ?? '';
    // minute hour dom month dow user command
    const command = line.split(' ').slice(6).join(' ');
    execFileSync('/bin/sh', ['-c', cronCommand(command)], { env: { PATH: '/usr/bin:/bin', HOME: '/root' } });
    expect(recordedDests()).toEqual([dest, dest]);
  });

  it.each(DESTS)('systemd service (%s): ExecStart passes --dest exactly the path, and systemd-analyze accepts the unit', (_what, destOf) => {
    const dest = destOf();
    rmSync(record, { force: true });
    const s: BackupSchedule = checkSchedule({ at: '02:30', days: ['mon'], dest });
    const { service } = systemdUnits(s, [recorder], join(dir, 'schedule.log'));
    const exec = service.split('\n').find((l) => l.startsWith('ExecStart='))?.slice('ExecStart='.length) ?? '';
    // systemd's word splitting of what is left matches sh's for this line (single quotes, '\'' joins).
    execFileSync('/bin/sh', ['-c', `exec ${systemdExpand(exec)}`], { env: { PATH: '/usr/bin:/bin', HOME: '/root' } });
    expect(recordedDests()).toEqual([dest, dest]);
    const unit = join(dir, 'vdsec-in-backup.service');
    writeFileSync(unit, service.replace('After=libvirtd.service\n', ''));
    const v = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8', cwd: dir });
    expect(v.stderr).not.toMatch(/specifier/i);
    expect(v.status).toBe(0);
  });

  it('refuses a destination cron and systemd cannot pass on (a backslash, a line break), naming it', () => {
    for (const dest of [join(dir, 'a\\%b'), join(dir, 'a\nb')]) {
      let error: unknown = null;
      try {
        checkSchedule({ at: '02:30', days: [], dest });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).sentence).toContain(join(dir, 'a'));
    }
  });
});
