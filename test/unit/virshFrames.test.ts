import { describe, expect, it } from 'vitest';
import { connectionLost, FrameReader, frameMark, frameRequest, markWord } from '../../src/model/virshFrames.js';

const S = 'vdk0123456789abcdef0123456789abcdef';
const a = (n: number) => frameMark(S, n, 'a');
const z = (n: number) => frameMark(S, n, 'z');

/** What virsh 9.0's interactive shell writes for one question (readline echoes the line on a pipe). */
function virshOutput(n: number, body: string): string {
  return `virsh # ${frameRequest(S, n, ['list --all --uuid'])}${a(n)}\n${body}${z(n)}\n`;
}

describe('frameRequest', () => {
  it('never holds a whole mark, so the echoed command line cannot close an answer', () => {
    const line = frameRequest(S, 7, ['list --all --uuid', 'nodeinfo']);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    expect(line).not.toContain(a(7));
    expect(line).not.toContain(z(7));
    // stdout's end mark before stderr's: stderr's says the whole answer has been written.
    expect(line).toMatch(/list --all --uuid; nodeinfo; echo "[^;]*; echo --err "[^;]*\n$/);
  });

  it('refuses a line break in a command and a guessable session word', () => {
    expect(() => frameRequest(S, 1, ['list\nundefine x'])).toThrow(/line break/);
    expect(() => frameRequest('abc', 1, ['list'])).toThrow(/session word/);
  });
});

describe('markWord', () => {
  it('writes 80 random bits in 16 base-36 characters, a valid session word whatever the bytes', () => {
    const words = [new Uint8Array(10), new Uint8Array(10).fill(255), Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])].map(markWord);
    for (const w of words) {
      expect(w).toMatch(/^[0-9a-z]{16}$/);
      expect(() => frameRequest(w, 1, ['list'])).not.toThrow();
    }
    expect(words[0]).toBe('0000000000000000');
    expect(new Set(words).size).toBe(3);
    expect(BigInt(`0x${'ff'.repeat(10)}`).toString(36)).toBe(words[1]?.replace(/^0+/, ''));
    expect(() => markWord(new Uint8Array(8))).toThrow(/10 random bytes/);
  });
});

describe('FrameReader', () => {
  it('says a question has ended only once stderr holds its whole end mark, even cut between chunks', () => {
    const r = new FrameReader(S);
    const mark = `${z(3)}\n`;
    r.pushStderr(`error: ${mark.slice(0, 10)}`);
    expect(r.ended(3)).toBe(false);
    r.pushStderr(mark.slice(10));
    expect([r.ended(3), r.ended(4)]).toEqual([true, false]);
  });

  it('cuts the answer out of banner, prompt and echoed command line', () => {
    const r = new FrameReader(S);
    r.pushStdout(`Welcome to virsh, the virtualization interactive terminal.\n\n${virshOutput(1, 'u1\nu2\n')}virsh # `);
    r.pushStderr(`error: ${z(1)}\n`);
    expect(r.take(1)).toEqual({ stdout: 'u1\nu2\n', stderr: '' });
  });

  it('waits for both streams, whatever arrives first, in chunks split anywhere (inside a mark too)', () => {
    const out = virshOutput(1, 'domstats\n');
    const err = `error: failed to get domain 'x'\nerror: ${z(1)}\n`;
    for (const cut of [1, 5, out.length - 4, out.length - 1]) {
      const r = new FrameReader(S);
      r.pushStdout(out.slice(0, cut));
      expect(r.take(1)).toBeNull();
      r.pushStderr(err.slice(0, err.length - 3));
      r.pushStdout(out.slice(cut));
      expect(r.take(1)).toBeNull(); // stdout complete, stderr's mark still cut
      r.pushStderr(err.slice(err.length - 3));
      expect(r.take(1)).toEqual({ stdout: 'domstats\n', stderr: "error: failed to get domain 'x'\n" });
    }
  });

  it('keeps each answer its own stderr when two answers arrive together', () => {
    const r = new FrameReader(S);
    r.pushStderr(`error: one\nerror: ${z(1)}\nerror: Disconnected from qemu:///system due to end of file\nerror: ${z(2)}\n`);
    r.pushStdout(virshOutput(1, 'first\n') + virshOutput(2, 'second\n'));
    expect(r.take(1)).toEqual({ stdout: 'first\n', stderr: 'error: one\n' });
    expect(r.take(2)).toEqual({ stdout: 'second\n', stderr: 'error: Disconnected from qemu:///system due to end of file\n' });
  });

  it('a mark inside the data (another session, an older question, a look-alike) does not close an answer', () => {
    const other = 'vdkffffffffffffffffffffffffffffffff';
    const hostile = `<description>\n${frameMark(other, 3, 'z')}\n${z(2)}\n${S}-3-zz\n@@virtdeck@@\n</description>\n`;
    const r = new FrameReader(S);
    r.pushStdout(virshOutput(3, hostile));
    r.pushStderr(`error: ${z(3)}\n`);
    expect(r.take(3)).toEqual({ stdout: hostile, stderr: '' });
  });

  it('a mark is found mid-line (a command whose output lacks its last newline)', () => {
    const r = new FrameReader(S);
    r.pushStdout(`${a(1)}\nno newline${z(1)}\n`);
    r.pushStderr(`error: ${z(1)}\n`);
    expect(r.take(1)?.stdout).toBe('no newline');
  });

  it('the tail of an abandoned answer does not leak into the next one', () => {
    const r = new FrameReader(S);
    r.pushStdout(`${a(1)}\nhalf of it`);
    r.pushStderr('error: said before it died\n');
    r.reset();
    r.pushStdout(virshOutput(2, 'fresh\n'));
    r.pushStderr(`error: ${z(2)}\n`);
    expect(r.take(2)).toEqual({ stdout: 'fresh\n', stderr: '' });
  });
});

describe('connectionLost', () => {
  it('knows what virsh says when libvirtd went away, not a failed command', () => {
    expect(connectionLost('error: Disconnected from qemu:///system due to end of file\n')).toBe(true);
    expect(connectionLost('error: Failed to reconnect to the hypervisor\nerror: Failed to connect socket\n')).toBe(true);
    expect(connectionLost("error: failed to get domain 'x'\n")).toBe(false);
    expect(connectionLost("error: failed to get domain 'error: Disconnected from '\n")).toBe(false);
  });
});
