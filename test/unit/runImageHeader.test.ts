import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { headerProblem } from '../../src/jobs/runCheck.js';

const dir = mkdtempSync(join(tmpdir(), 'vdtest-q2refs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, ...opts: string[]): Buffer {
  const path = join(dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', ...opts, path, '1M']);
  return readFileSync(path).subarray(0, 65536);
}

describe('run image headers', () => {
  it('accepts only the backing file the chain says', () => {
    const f = { run: 'r', runDir: '/b/g/r', file: 'vda.qcow2', path: '/b/g/r/vda.qcow2', sha256: null, format: 'qcow2', backing: null };
    expect(headerProblem(f, image('a.qcow2'))).toBeNull();
    expect(headerProblem(f, image('b.qcow2', '-b', '/etc/shadow', '-F', 'raw', '-u'))).toMatch(/builds on \/etc\/shadow, but its chain says nothing/);
    expect(headerProblem({ ...f, backing: '../p/vda.qcow2' }, image('c.qcow2', '-b', '../p/vda.qcow2', '-F', 'qcow2', '-u'))).toBeNull();
    expect(headerProblem(f, image('d.qcow2', '-o', `data_file=${join(dir, 'd.raw')}`))).toMatch(/keeps its data in another file/);
    expect(headerProblem({ ...f, format: 'raw' }, Buffer.from('QFI\xfb'))).toBeNull();
    expect(headerProblem(f, Buffer.from('hello'))).toMatch(/is not a qcow2 image/);
    const cut = image('cut.qcow2', '-b', '/etc/shadow', '-F', 'raw', '-u');
    expect(headerProblem(f, cut.subarray(0, 80), cut.length)).toMatch(/cannot check/);
  });
});
