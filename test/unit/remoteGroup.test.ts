import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { isSignalableGroup, PGID_MARKER, PgidMarkerFilter, remoteCommandLine, remoteStopCommandLine, withoutPgidMarker } from '../../src/host/remoteGroup.js';

/** What sshd does with the line: hands it to the login shell; `leader` as sshd's session leader is. */
async function asRemote(argv: string[], leader: boolean) {
  const line = remoteCommandLine(argv);
  const r = leader ? await execa('setsid', ['-w', 'sh', '-c', line], { reject: false }) : await execa('sh', ['-c', line], { reject: false });
  const m = new RegExp(`^${PGID_MARKER} (\\d+)\\n`).exec(`${r.stderr}\n`);
  return { ...r, pgid: m ? Number(m[1]) : null };
}

describe('remoteCommandLine', () => {
  const nasty = ['printf', '%s|', 'a b', "it's", '$HOME', '; rm -rf /', '`id`', ''];

  for (const leader of [true, false]) {
    it(`runs argv word for word and announces its own process group (${leader ? 'already a group leader' : 'through setsid'})`, async () => {
      const r = await asRemote(nasty, leader);
      expect(r.stdout).toBe("a b|it's|$HOME|; rm -rf /|`id`||");
      expect(r.exitCode).toBe(0);
      expect(r.pgid).not.toBeNull();
      // The command itself (after exec) leads the announced group.
      const self = await asRemote(['sh', '-c', 'ps -o pgid= -p $$'], leader);
      expect(Number(self.stdout.trim())).toBe(self.pgid);
    });

    it(`keeps the command's exit status and its stderr after the marker (${leader ? 'leader' : 'setsid'})`, async () => {
      const r = await asRemote(['sh', '-c', 'echo out; echo err >&2; exit 7'], leader);
      expect(r.exitCode).toBe(7);
      expect(r.stdout).toBe('out');
      expect(withoutPgidMarker(`${r.stderr}\n`)).toBe('err\n');
    });
  }

  it('runs with umask 077, whatever the remote login gives: files it writes are private', async () => {
    const r = await execa('sh', ['-c', `umask 022; ${remoteCommandLine(['sh', '-c', 'umask'])}`], { reject: false });
    expect(r.stdout.trim()).toBe('0077');
  });

  it('says 127 for a program that is not there', async () => {
    expect((await asRemote(['vdtest-rc-no-such-program'], true)).exitCode).toBe(127);
  });
});

describe('PgidMarkerFilter', () => {
  it('takes the marker out of a stream split anywhere, and keeps the group', () => {
    const text = `${PGID_MARKER} 4242\nqemu-img: error\nmore\n`;
    for (let cut = 0; cut <= text.length; cut++) {
      const seen: number[] = [];
      const f = new PgidMarkerFilter((g) => seen.push(g));
      const out = f.push(text.slice(0, cut)) + f.push(text.slice(cut)) + f.end();
      expect(out).toBe('qemu-img: error\nmore\n');
      expect(f.pgid).toBe(4242);
      expect(seen).toEqual([4242]);
    }
  });

  it('passes a login script’s noise before the marker, and a look-alike after it', () => {
    const f = new PgidMarkerFilter();
    expect(f.push(`stty: not a tty\n${PGID_MARKER} 77\n${PGID_MARKER} 99\n`)).toBe(`stty: not a tty\n${PGID_MARKER} 99\n`);
    expect(f.pgid).toBe(77);
  });

  it('never takes a group that would signal everything', () => {
    for (const bad of ['0', '1', '-5', '']) {
      const f = new PgidMarkerFilter();
      expect(f.push(`${PGID_MARKER} ${bad}\n`) + f.end()).toBe(`${PGID_MARKER} ${bad}\n`);
      expect(f.pgid).toBeNull();
    }
  });

  it('gives back an unfinished line when no marker came', () => {
    const f = new PgidMarkerFilter();
    expect(f.push('ssh: connect to host x port 22: Connection refused')).toBe('');
    expect(f.end()).toBe('ssh: connect to host x port 22: Connection refused');
    expect(withoutPgidMarker('plain\n')).toBe('plain\n');
  });
});

describe('remoteStopCommandLine', () => {
  it('refuses groups 0 and 1 and anything not a whole number', () => {
    for (const bad of [0, 1, -3, 2.5, Number.NaN]) {
      expect(isSignalableGroup(bad)).toBe(false);
      expect(() => remoteStopCommandLine(bad)).toThrow(/refusing/);
    }
    expect(remoteStopCommandLine(1234, { graceMs: 300, afterKillMs: 1000 })).toMatch(/ sh 1234 3 13$/);
  });

  it('stops a whole group, KILLing what ignores TERM, and says so with exit 0', async () => {
    // detached: the shell leads a new session and group, as a remote command does.
    const group = execa('sh', ['-c', 'trap "" TERM; sleep 600 & sleep 600 & wait'], { reject: false, detached: true });
    const pgid = group.pid as number;
    await execa('sh', ['-c', 'until [ "$(pgrep -c -g "$1")" -ge 3 ]; do sleep 0.05; done', 'sh', String(pgid)]);
    const stop = await execa('sh', ['-c', remoteStopCommandLine(pgid, { graceMs: 200, afterKillMs: 10_000 })], { reject: false });
    expect(stop.exitCode).toBe(0);
    expect((await execa('pgrep', ['-g', String(pgid)], { reject: false })).exitCode).toBe(1);
    await group;
  });

  it('exits 0 when the group is already gone', async () => {
    const child = execa('true', [], { detached: true });
    const pgid = child.pid as number;
    await child;
    expect((await execa('sh', ['-c', remoteStopCommandLine(pgid)], { reject: false })).exitCode).toBe(0);
  });
});
