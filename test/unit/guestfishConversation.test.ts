import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import { guestfishConversation } from '../../src/host/guestfishConversation.js';
import { inspectDisk } from '../../src/host/guestfs.js';
import { UserError } from '../../src/model/userError.js';

/** The words of one script line as guestfish splits them, or null for a line it would treat specially. */
function words(line: string): string[] | null {
  if (/^\s*(!|<!|#)/.test(line)) return null;
  const out: string[] = [];
  let i = 0;
  const [cmd] = line.split(' ', 1);
  out.push(cmd as string);
  i = (cmd as string).length;
  while (i < line.length) {
    if (line[i] === ' ') {
      i++;
      continue;
    }
    if (line[i] !== '"') return null; // a bare word: could be |, ~ or a pipe
    let w = '';
    i++;
    while (line[i] !== '"') {
      if (i >= line.length) return null;
      if (line[i] === '\\') {
        const e = line[i + 1];
        if (e === 'x') {
          w += String.fromCharCode(Number.parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
        } else {
          w += e;
          i += 2;
        }
      } else w += line[i++];
    }
    i++;
    out.push(Buffer.from(w, 'latin1').toString('utf8'));
  }
  return out;
}

/**
 * A guestfish stand-in that reads the script from the conversation's stream line by line and
 * answers: inspect-os prints the roots the "guest" chose, inspect-get-* print canned answers.
 */
function fakeGuestfish(roots: string[], product: string) {
  const lines: string[] = [];
  const asked: string[] = [];
  const exec: Executor = {
    label: 'fake',
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      // guestfsEnv's KVM probe: no vmx/svm here, so TCG.
      if (argv[0] === 'grep' || argv[0] === 'test') return { argv, exitCode: 1, stdout: '', stderr: '' };
      if (argv[0] !== 'guestfish') throw new Error(`unexpected ${argv.join(' ')}`);
      const stream = o.inputStream as Readable;
      let stdout = '';
      const print = (s: string) => {
        stdout += s;
        o.onStdout?.(s);
      };
      let buf = '';
      for await (const chunk of stream) {
        buf += String(chunk);
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          lines.push(line);
          const w = words(line);
          if (!w) throw new Error(`guestfish would run this as more than one command: ${line}`);
          const [cmd, ...args] = w;
          if (cmd === 'echo') print(`${args.join(' ')}\n`);
          else if (cmd === 'inspect-os') print(roots.map((r) => `${r}\n`).join(''));
          else if (cmd === '-inspect-get-type') {
            asked.push(args[0] as string);
            print('linux\n');
          } else if (cmd === '-inspect-get-distro') print('fedora\n');
          else if (cmd === '-inspect-get-product-name') print(`${product}\n`);
          else if (cmd === '-part-get-parttype') print('msdos\n');
          else if (cmd === 'blockdev-getsize64') print('268435456\n');
          else if (cmd === 'feature-available') print('true\n');
        }
      }
      return { argv, exitCode: 0, stdout, stderr: '' };
    },
    interactive: async () => 0,
  };
  return { exec, lines, asked };
}

describe('inspectDisk: roots from the guest are asked about as quoted words, in the same launch', () => {
  it('a root named like a pipe, a command or a script include is one quoted argument', async () => {
    const hostile = ['btrfsvol:/dev/sda1/x | touch /root.owned', 'btrfsvol:/dev/sda1/<! cat /etc/shadow', 'btrfsvol:/dev/sda1/a"b\\c ~root $HOME'];
    const g = fakeGuestfish([...hostile, '!touch /root.owned', '/dev/sda2'], 'Evil Linux');
    const layout = await inspectDisk(g.exec, '/img.raw', 'raw');
    // Every line guestfish read is a command with quoted words (words() threw otherwise).
    expect(g.lines.some((l) => l.startsWith('-inspect-get-type "btrfsvol:/dev/sda1/x | touch /root.owned"'))).toBe(true);
    // A line that is not a device name is not asked about at all.
    expect(g.asked).toEqual([...hostile, '/dev/sda2']);
    expect(layout.os).toEqual({ root: hostile[0], type: 'linux', distro: 'fedora', product: 'Evil Linux' });
  });

  it('a product name that prints a marker line cannot add a root (the markers carry a random nonce)', async () => {
    const g = fakeGuestfish(['/dev/sda1'], 'Fake\n@@virtdeck@@ roots\n/dev/evil');
    const layout = await inspectDisk(g.exec, '/img.raw', 'raw');
    expect(layout.os?.root).toBe('/dev/sda1');
    expect(layout.os?.product).toBe('Fake @@virtdeck@@ roots /dev/evil');
  });

  it('a later round that refuses a name (NUL) ends the script there and is the error, not a crash', async () => {
    const g = fakeGuestfish([], '');
    const run = guestfishConversation(g.exec, ['guestfish'], [() => [['echo', 'a']], () => [['echo', 'b\0c']], () => [['echo', 'never']]]);
    await expect(run).rejects.toThrow(UserError);
    expect(g.lines.some((l) => l.includes('never'))).toBe(false);
  });
});
