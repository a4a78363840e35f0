import { describe, expect, it } from 'vitest';
import { type ExpandDecision, expandKeeps } from '../../src/model/expandPlan.js';

/** Issue 12 item 4: each expand review states what is actually kept. */
const plan = (image: string) => ({ kind: 'expand', title: 't', targets: { guests: [], images: [image] }, steps: [] });
const decision = (route: ExpandDecision['route'], guestSide: ExpandDecision['guestSide']) => ({ route, guestSide, plan: plan('/srv/vm/a b.qcow2') });

describe('expandKeeps', () => {
  it('vmdk: the original is kept until the new one is verified', () => {
    expect(expandKeeps({ guest: null }, decision('vmdk', { kind: 'none', reason: '' }))).toContain('The original vmdk is not touched until the new one is verified');
  });

  it('a grow in place keeps no copy and says how to keep one (an image of no guest: cp)', () => {
    const text = expandKeeps({ guest: null }, decision('resize', { kind: 'none', reason: '' }));
    expect(text).toBe(
      "These steps will run in order, each journaled. The disk is grown in place: no copy of the original is kept, and a grow is not undone. To keep one, copy it first (cp --sparse=always '/srv/vm/a b.qcow2' '/srv/vm/a b.qcow2.bak').",
    );
  });

  it('a running guest: grown in place while it runs; back it up first', () => {
    const text = expandKeeps({ guest: { name: 'web', state: 'running', target: 'vda' } }, decision('blockresize', { kind: 'instructions', reason: 'x' }));
    expect(text).toContain('The disk is grown in place while web runs: no copy of the original is kept');
    expect(text).toContain('To keep one, back web up first (b in the Backups pane, or virtdeck backup run web).');
    expect(text).not.toContain('original stays');
  });
});
