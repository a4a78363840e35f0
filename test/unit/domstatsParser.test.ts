import { describe, expect, it } from 'vitest';
import { DomstatsParser, parseDomstats } from '../../src/model/usage.js';

const answer = (cpu: number) => `Domain: 'alpha'
  state.state=1
  cpu.time=${cpu}

Domain: 'it''s'
  state.state=5

Domain: 'gamma'
  state.state=5
  block.count=0

`;

describe('DomstatsParser: a poll parses only the guests whose lines changed', () => {
  it('reads what parseDomstats reads', () => {
    const p = new DomstatsParser();
    expect(p.parse(answer(1))).toEqual(parseDomstats(answer(1)));
    expect(p.parse('')).toEqual(new Map());
    expect(p.parse(`banner\n${answer(1)}`)).toEqual(parseDomstats(answer(1)));
  });

  it('a guest whose lines are the same gets the same fields object; a changed one a new object', () => {
    const p = new DomstatsParser();
    const first = p.parse(answer(1));
    const second = p.parse(answer(2));
    expect(second.get('gamma')).toBe(first.get('gamma'));
    expect(second.get("it''s")).toBe(first.get("it''s"));
    expect(second.get('alpha')).not.toBe(first.get('alpha'));
    expect(second.get('alpha')?.['cpu.time']).toBe('2');
    // Only the last answer is remembered: a guest gone and back is parsed afresh.
    p.parse(answer(3).slice(0, answer(3).indexOf("Domain: 'gamma'")));
    const back = p.parse(answer(3));
    expect(back.get('gamma')).not.toBe(first.get('gamma'));
    expect(back.get('gamma')).toEqual(first.get('gamma'));
  });
});
