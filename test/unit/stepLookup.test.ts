import { describe, expect, it } from 'vitest';
import { FieldRefusal } from '../../src/model/userError.js';
import { makeForm } from '../../src/store/form.js';
import { type LookupState, stepLookup } from '../../src/store/wizards/stepLookup.js';

function harness() {
  let state: LookupState = { busy: false, problems: [], form: makeForm([{ id: 'to', label: 'To', kind: 'text', value: '' }]) };
  const lookup = stepLookup(
    () => state,
    (change) => {
      state = { ...state, ...change };
    },
  );
  return {
    lookup,
    state: () => state,
    set: (change: Partial<LookupState>) => {
      state = { ...state, ...change };
    },
  };
}

describe('a step wizard lookup', () => {
  it('is busy while it runs, and a second one asked meanwhile does not start', async () => {
    const h = harness();
    let release = () => {};
    let runs = 0;
    const first = h.lookup.run(() => {
      runs += 1;
      return new Promise<void>((r) => {
        release = r;
      });
    });
    expect(h.state().busy).toBe(true);
    await h.lookup.run(async () => {
      runs += 1;
    });
    release();
    await first;
    expect([runs, h.state().busy]).toEqual([1, false]);
  });

  it('puts its refusal on the form, with the field it names', async () => {
    const h = harness();
    await h.lookup.run(async () => {
      throw new FieldRefusal('to', 'No such host.', 'Type a host from the config file.');
    });
    expect(h.state().problems).toEqual([{ sentence: 'No such host.', fix: 'Type a host from the config file.', field: 'to' }]);
    expect(h.state().form.error?.sentence).toBe('No such host.');
  });

  it('once stopped, shows nothing of a late failure and hands the signal to the body', async () => {
    const h = harness();
    let seen: AbortSignal | null = null;
    let fail = (_e: Error) => {};
    const p = h.lookup.run(
      (signal) =>
        new Promise<void>((_r, reject) => {
          seen = signal;
          fail = reject;
        }),
    );
    h.lookup.stop();
    expect((seen as AbortSignal | null)?.aborted).toBe(true);
    fail(new Error('ssh: connect to host x: Connection refused'));
    await p;
    expect([h.state().busy, h.state().problems]).toEqual([false, []]);
  });

  it('a stopped lookup that settles after the next one started leaves that one busy', async () => {
    const h = harness();
    let settleFirst = () => {};
    const first = h.lookup.run(
      () =>
        new Promise<void>((r) => {
          settleFirst = r;
        }),
    );
    // As the migrate and evacuate wizards stop: the form is free at once.
    h.lookup.stop();
    h.set({ busy: false });
    let release = () => {};
    const second = h.lookup.run(
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    settleFirst();
    await first;
    expect(h.state().busy).toBe(true);
    release();
    await second;
    expect(h.state().busy).toBe(false);
  });
});
