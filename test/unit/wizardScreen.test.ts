import { describe, expect, it } from 'vitest';
import { makeForm } from '../../src/store/form.js';
import { createJobController } from '../../src/store/jobs/jobController.js';
import { routeKey } from '../../src/store/keys/router.js';
import { scrolled, scrollStep, type WizardScreen, wizardScopes } from '../../src/store/wizards/wizardScreen.js';

const key = (name: string) => ({ name, input: name.length === 1 ? name : '' });
const action = (screen: WizardScreen, name: string) => routeKey(wizardScopes(screen), key(name))?.action ?? 'nothing';

describe('wizard keys: steps', () => {
  it('Esc goes back a step (the wizard closes on its first); Ctrl-C leaves on every step, busy or not', () => {
    expect(action({ kind: 'step' }, 'esc')).toBe('wizardBack');
    expect(action({ kind: 'step' }, 'ctrl-c')).toBe('wizardCancel');
    expect(action({ kind: 'step', busy: 'wait' }, 'ctrl-c')).toBe('wizardCancel');
    expect(action({ kind: 'step', busy: 'stop' }, 'ctrl-c')).toBe('wizardCancel');
  });

  it('while a step is busy, Esc stops the work or waits, and other keys wait', () => {
    expect(action({ kind: 'step', busy: 'stop' }, 'esc')).toBe('wizardStopBusy');
    expect(action({ kind: 'step', busy: 'wait' }, 'esc')).toBe('nothing');
    expect(action({ kind: 'step', busy: 'wait' }, 'enter')).toBe('nothing');
  });

  it('Enter goes on; a key no row binds does nothing; a form’s fields take their keys first', () => {
    expect(action({ kind: 'step' }, 'enter')).toBe('wizardNext');
    expect(action({ kind: 'step' }, 'x')).toBe('nothing');
    const form = makeForm([{ id: 'name', label: 'Name', kind: 'text', value: '' }]);
    expect(action({ kind: 'step', form }, 'x')).toBe('type');
    expect(action({ kind: 'step', form }, 'q')).toBe('type');
    expect(action({ kind: 'step', form }, 'esc')).toBe('wizardBack');
  });
});

describe('wizard keys: review', () => {
  it('takes Enter, w, b and q only where the review offers them', () => {
    const all: WizardScreen = { kind: 'review', script: true, background: true };
    expect(action(all, 'enter')).toBe('wizardRun');
    expect(action(all, 'w')).toBe('wizardSaveScript');
    expect(action(all, 'b')).toBe('wizardBackground');
    expect(action(all, 'q')).toBe('wizardQuit');
    const runOnly: WizardScreen = { kind: 'review', scroll: false, quit: false };
    for (const k of ['w', 'b', 'q', 'up', 'down']) expect(action(runOnly, k)).toBe('nothing');
  });

  it('scrolls with ↑↓ and PgUp/PgDn', () => {
    expect(action({ kind: 'review' }, 'down')).toBe('scrollDown');
    expect(action({ kind: 'review' }, 'up')).toBe('scrollUp');
    expect(action({ kind: 'review' }, 'pagedown')).toBe('pageDown');
    expect(scrollStep('pageDown', 8)).toBe(8);
    expect(scrollStep('pageUp', 8)).toBe(-8);
    expect(scrollStep('wizardRun', 8)).toBe(0);
  });

  it('never scrolls past the last full view going down, nor above the top going up', () => {
    expect(scrolled(0, -1, 5)).toBe(0);
    expect(scrolled(0, 1, 5)).toBe(1);
    expect(scrolled(4, 1, 5)).toBe(5);
    expect(scrolled(5, 1, 5)).toBe(5);
    expect(scrolled(3, 8, 5)).toBe(5);
    expect(scrolled(3, -8, 5)).toBe(0);
    // Fewer lines than the view: nowhere to go.
    expect(scrolled(0, 1, 0)).toBe(0);
  });
});

describe('wizard keys: a running job', () => {
  it('Esc, Ctrl-C or c ask; y cancels; n or Esc keep going; other keys wait', () => {
    const jobs = createJobController(() => {});
    void jobs.start({ what: 'the test', undo: 'Nothing to undo.', title: 't', rows: ['a'] }, () => new Promise(() => {}));
    const running: WizardScreen = { kind: 'running', jobs };
    for (const k of ['esc', 'ctrl-c', 'c']) expect(action(running, k)).toBe('jobAskCancel');
    expect(action(running, 'q')).toBe('nothing');
    jobs.askCancel();
    expect(action(running, 'y')).toBe('jobConfirmCancel');
    expect(action(running, 'n')).toBe('jobKeepGoing');
    expect(action(running, 'esc')).toBe('jobKeepGoing');
    expect(action(running, 'ctrl-c')).toBe('nothing');
  });
});

describe('wizard keys: the result', () => {
  it('closes on Enter, Esc and q; Ctrl-C does nothing there; scrolls where it is long', () => {
    for (const k of ['enter', 'esc', 'q']) expect(action({ kind: 'result' }, k)).toBe('wizardClose');
    expect(action({ kind: 'result' }, 'ctrl-c')).toBe('nothing');
    expect(action({ kind: 'result', scroll: true }, 'down')).toBe('scrollDown');
    expect(action({ kind: 'result' }, 'down')).toBe('nothing');
  });
});
