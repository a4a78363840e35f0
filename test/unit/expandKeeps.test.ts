import { describe, expect, it } from 'vitest';
import { type ExpandDecision, expandKeeps, keepCopyNames } from '../../src/model/expandPlan.js';

/** Issue 12 item 4: each expand review states what is actually kept. */
const plan = (image: string) => ({ kind: 'expand', title: 't', targets: { guests: [], images: [image] }, steps: [] });
const decision = (route: ExpandDecision['route'], guestSide: ExpandDecision['guestSide']) => ({ route, guestSide, plan: plan('/srv/vm/a b.qcow2') });

describe('expandKeeps', () => {
  it('vmdk: the original is kept until the new one is verified', () => {
    expect(expandKeeps({ guest: null }, decision('vmdk', { kind: 'none', reason: '' }))).toContain('The original vmdk is not touched until the new one is verified');
  });

  it('a grow in place keeps no copy and says how to ask for one (an image of no guest)', () => {
    const text = expandKeeps({ guest: null }, decision('resize', { kind: 'none', reason: '' }));
    expect(text).toBe(
      'These steps will run in order, each journaled. The disk is grown in place: no copy of the original is kept, and a grow is not undone. To keep one, --keep-copy keeps a verified copy beside it.',
    );
    // The wizard names its key; a guest's disk can also be backed up first.
    expect(expandKeeps({ guest: { name: 'web', state: 'shut off', target: 'vda' } }, decision('resize', { kind: 'none', reason: '' }), 'c')).toContain(
      'To keep one, c keeps a verified copy beside it, or back web up first (b in the Backups pane, or virtdeck backup run web).',
    );
  });

  it('a grow in place with a kept copy says where the copy stays, and that it is compared first', () => {
    const d = { ...decision('resize', { kind: 'offline', op: {} as never, description: '' }), keepCopy: keepCopyNames('/srv/vm/a b.qcow2') };
    expect(expandKeeps({ guest: null }, d)).toBe(
      'These steps will run in order, each journaled. A copy of the original is made first and compared with it; it stays as a b.qcow2.virtdeck-orig beside the image until you remove it. Then the disk is grown in place, and so are its partition and filesystem.',
    );
  });

  it('a running guest: grown in place while it runs; back it up first', () => {
    const text = expandKeeps({ guest: { name: 'web', state: 'running', target: 'vda' } }, decision('blockresize', { kind: 'instructions', reason: 'x' }));
    expect(text).toContain('The disk is grown in place while web runs: no copy of the original is kept');
    expect(text).toContain('To keep one, back web up first (b in the Backups pane, or virtdeck backup run web).');
    expect(text).not.toContain('original stays');
  });
});
