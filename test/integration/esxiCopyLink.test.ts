/**
 * A dropped ssh link during `esxi.copy`: an `ssh` stand-in first on PATH runs each remote command
 * with sh, as ssh would, but cuts the data stream after some bytes with ssh's own exit status 255
 * for the first `drops` calls. The file is then copied again from its start, and only a copy whose
 * sha256 equals the host's is put in place; when the link keeps dropping, nothing is left.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esxiActions } from '../../src/jobs/importEsxi.js';
import type { Action } from '../../src/jobs/runner.js';
import { DIGEST_MARKER } from '../../src/model/esxiStream.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdtest-esxilink-');
const dir = scratch.dir;
const bin = join(dir, 'bin');
const src = join(dir, 'host', 'web-flat.vmdk');
const counter = join(dir, 'cats');
const remoteTmp = join(dir, 'remote-tmp');
const oldPath = process.env.PATH;

beforeAll(() => {
  mkdirSync(bin);
  mkdirSync(join(dir, 'host'));
  mkdirSync(remoteTmp);
  execFileSync('sh', ['-c', `head -c ${3 << 20} /dev/urandom > '${src}'`]);
  // ssh [options] -- DEST COMMAND: the last word is the remote command line.
  writeFileSync(
    join(bin, 'ssh'),
    [
      '#!/bin/sh',
      'for last; do :; done',
      // Where the host's script makes its FIFO's private directory: seen to go, also on a drop.
      `export TMPDIR='${remoteTmp}'`,
      'case "$last" in',
      // The stream's command: the script that sends the file and then the host's sha256.
      `*${DIGEST_MARKER}*)`,
      `  n=$(cat '${counter}' 2>/dev/null || echo 0); echo $((n + 1)) > '${counter}'`,
      `  if [ "$n" -lt "$(cat '${join(dir, 'drops')}')" ]; then sh -c "$last" | head -c 1000000; echo 'Connection to esx closed by remote host.' >&2; exit 255; fi`,
      ';;',
      'esac',
      'exec sh -c "$last"',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'ssh'), 0o755);
  process.env.PATH = `${bin}:${oldPath}`;
});

afterAll(() => {
  process.env.PATH = oldPath;
  scratch.remove();
});

function copyOnce(drops: number, out: string, image?: { format: 'qcow2'; virtualSize: number }) {
  writeFileSync(join(dir, 'drops'), String(drops));
  writeFileSync(counter, '0');
  const logs: string[] = [];
  const copy = esxiActions(localHost())['esxi.copy'] as Action;
  const ctx = { host: localHost(), signal: new AbortController().signal, progress: () => {}, log: (l: string) => logs.push(l) } as unknown as Parameters<Action>[1];
  const run = copy({ ssh: ['ssh', '--', 'root@esx'], remote: src, out, size: 3 << 20, ...(image ? { image } : {}) }, ctx);
  return { run, logs };
}

describe('esxi.copy when the ssh link drops', () => {
  it('starts the file again from its first byte and keeps only the checked copy', async () => {
    mkdirSync(join(dir, 'a'));
    const out = join(dir, 'a', 'web-flat.vmdk');
    const { run, logs } = copyOnce(1, out);
    await run;
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(readdirSync(join(dir, 'a'))).toEqual(['web-flat.vmdk']);
    expect(readFileSync(counter, 'utf8').trim()).toBe('2');
    expect(logs[0]).toMatch(/The ssh link to root@esx dropped after 1000000 of 3145728 bytes of .*web-flat\.vmdk\. .*Starting web-flat\.vmdk again \(attempt 2 of 3\)\./);
    expect(logs.at(-1)).toMatch(/3145728 bytes; sha256 [0-9a-f]{64} matches the one computed on the host/);
    expect(readdirSync(remoteTmp)).toEqual([]);
  });

  it('into a qcow2 written as it arrives: the cut-off image is thrown away, the next one holds the data', async () => {
    mkdirSync(join(dir, 'q'));
    const out = join(dir, 'q', 'web.qcow2');
    const { run, logs } = copyOnce(1, out, { format: 'qcow2', virtualSize: 3 << 20 });
    await run;
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', src, out]);
    expect(readdirSync(join(dir, 'q'))).toEqual(['web.qcow2']);
    expect(logs[0]).toMatch(/dropped after 1000000 of 3145728 bytes.*Starting web-flat\.vmdk again \(attempt 2 of 3\)/);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith(`virtdeck-nbd-`))).toEqual([]);
  });

  it('gives up after three drops in one sentence and leaves no partial file', async () => {
    mkdirSync(join(dir, 'b'));
    const out = join(dir, 'b', 'web-flat.vmdk');
    const { run } = copyOnce(5, out);
    await expect(run).rejects.toMatchObject({ sentence: expect.stringMatching(/^The ssh link to root@esx dropped after 1000000 of 3145728 bytes/) });
    expect(readFileSync(counter, 'utf8').trim()).toBe('3');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(dir, 'b'))).toEqual([]);
    expect(readdirSync(remoteTmp)).toEqual([]);
  });
});
