import { describe, expect, it } from 'vitest';
import { DIGEST_MARKER, parseRemoteDigest, STREAM_SCRIPT, withoutDigest } from '../../src/model/esxiStream.js';

const HEX = 'a494bd3e6a7cca835f50031d6f92c180f87d7b2c3981c35136e3042440b51074';

describe("the host's digest line after the stream", () => {
  it('reads the hex, "none", or nothing', () => {
    expect(parseRemoteDigest(`${DIGEST_MARKER} ${HEX}\n`)).toEqual({ kind: 'sha256', hex: HEX });
    expect(parseRemoteDigest(`${DIGEST_MARKER} none\n`)).toEqual({ kind: 'none' });
    expect(parseRemoteDigest('')).toEqual({ kind: 'missing' });
    expect(parseRemoteDigest('Connection to esx1 closed by remote host.\n')).toEqual({ kind: 'missing' });
  });

  it('takes the last marker line, after whatever else the host or ssh said', () => {
    expect(parseRemoteDigest(`Warning: Permanently added 'esx1'\n${DIGEST_MARKER} none\n${DIGEST_MARKER} ${HEX}`)).toEqual({ kind: 'sha256', hex: HEX });
  });

  it('counts anything but 64 lowercase hex digits as missing: the copy is then not kept', () => {
    for (const bad of [HEX.toUpperCase(), HEX.slice(1), `${HEX}0`, `${HEX} *stdin`, '', `$(reboot)`]) {
      expect(parseRemoteDigest(`${DIGEST_MARKER} ${bad}\n`)).toEqual({ kind: 'missing' });
    }
  });

  it('leaves the rest of stderr for the error message', () => {
    expect(withoutDigest(`tee: write error\n${DIGEST_MARKER} ${HEX}\n`)).toBe('tee: write error\n');
  });
});

describe('the stream script', () => {
  it('takes the path as $1 and uses nothing bash-only (busybox ash and dash run it)', () => {
    for (const bashism of ['[[', '<(', '>(', 'pipefail', 'function ', 'local ', '$((', '/dev/fd/', '${PIPESTATUS']) expect(STREAM_SCRIPT).not.toContain(bashism);
    expect(STREAM_SCRIPT).toContain('exec 3<"$1"');
    // The file is opened once, by that line; the second read is only the fallback without mkfifo.
    expect(STREAM_SCRIPT.match(/"\$1"/g)).toHaveLength(2);
  });
});
