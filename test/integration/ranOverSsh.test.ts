import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatError, jsonError } from '../../src/cli/output.js';
import { HostError } from '../../src/host/errors.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { scratchDir } from '../helpers/tinyGuest.js';

/** Issue 13 item 8: a command that failed on a remote host says so in its "ran:" line, quoted. */
const scratch = scratchDir('vdt13ranssh-');
let sshd: ThrowawaySshd;

beforeAll(async () => {
  mkdirSync(join(scratch.dir, 'sshd'));
  sshd = await startThrowawaySshd(join(scratch.dir, 'sshd'));
}, 60_000);

afterAll(() => {
  sshd?.stop();
  scratch.remove();
});

describe('ran: over ssh', () => {
  it('names the host the failed command ran on, and quotes it as a shell would take it back', async () => {
    const missing = join(scratch.dir, 'no such file');
    const e = await sshd.host.sysExec.run(['stat', '--', missing]).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).ranOn).toBe('root@127.0.0.1');
    expect(formatError(e).split('\n')).toContain(`  ran: stat -- '${missing}'   (over ssh on root@127.0.0.1)`);
    expect(JSON.parse(jsonError(e)).error.ranOn).toBe('root@127.0.0.1');
  }, 30_000);
});
