import { describe, expect, it } from 'vitest';
import { safeOutput } from '../../src/cli/output.js';

/** Every line the CLI prints passes safeOutput: plain text shown, JSON exact. */
function capture(json: boolean) {
  const written: string[] = [];
  const out = safeOutput(json, { out: (t) => written.push(t), err: (t) => written.push(t) });
  return { out, written };
}

const hostile = 'evil\u001b]2;owned\u0007\u009b2J\u202etxt.exe\tname';

describe('safeOutput', () => {
  it('writes plain text with every control character made visible; tabs and line breaks stay', () => {
    const { out, written } = capture(false);
    out.out(`${hostile}\nsecond`);
    out.err(hostile);
    expect(written).toEqual(['evil\\x1b]2;owned\\x07\\x9b2J\\u202etxt.exe\tname\nsecond\n', 'evil\\x1b]2;owned\\x07\\x9b2J\\u202etxt.exe\tname\n']);
  });

  it('keeps JSON exact: it parses back to the same text, and no raw control or C1 byte is written', () => {
    const { out, written } = capture(true);
    out.out(JSON.stringify({ name: hostile }, null, 2));
    const text = written.join('');
    expect(JSON.parse(text)).toEqual({ name: hostile });
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
  });
});
