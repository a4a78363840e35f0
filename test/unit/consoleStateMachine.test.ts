import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { type Field, fieldValue, formKey, formScopes, makeForm, withError } from '../../src/store/form.js';
import { createJobController } from '../../src/store/jobs/jobController.js';
import { cancelQuestion, planSpec, type RunView } from '../../src/store/jobs/runView.js';
import { keyPresses } from '../../src/store/keys/keyName.js';
import { hintLine, routeKey } from '../../src/store/keys/router.js';
import { wizardScopes } from '../../src/store/wizards/wizardScreen.js';

const press = (name: string) => ({ name, input: name.length === 1 ? name : '' });

describe('keyPresses: what Ink hands over becomes one key per press', () => {
  it('splits a run of plain text, Enter and Tab inside it included', () => {
    expect(keyPresses('\r5', {}).map((k) => k.name)).toEqual(['enter', '5']);
    expect(keyPresses('root', {}).map((k) => k.name)).toEqual(['r', 'o', 'o', 't']);
    expect(keyPresses('a\tb\u007f', {}).map((k) => k.name)).toEqual(['a', 'tab', 'b', 'backspace']);
  });
  it('reads ESC then a letter in one read as Esc, then the letter (no Alt bindings)', () => {
    expect(keyPresses('L', { meta: true })).toEqual([
      { name: 'esc', input: '' },
      { name: 'L', input: 'L' },
    ]);
    expect(keyPresses('', { escape: true, meta: true })).toEqual([{ name: 'esc', input: '' }]);
  });
  it('keeps named keys whole', () => {
    expect(keyPresses('', { upArrow: true })).toEqual([{ name: 'up', input: '' }]);
    expect(keyPresses('c', { ctrl: true })).toEqual([{ name: 'ctrl-c', input: '' }]);
  });
});

describe('routeKey: the first scope that binds a key wins', () => {
  it('a pane key beats the shared one; the filter line takes printable keys', () => {
    expect(routeKey(['pane:jobs', 'panes', 'console'], press('c'))?.action).toBe('jobsCancel');
    expect(routeKey(['pane:guests', 'panes', 'console'], press('c'))?.action).toBe('console');
    expect(routeKey(['input:filter', 'console'], press('q'))?.action).toBe('inputType');
    expect(routeKey(['input:filter', 'console'], press('ctrl-c'))?.action).toBe('quit');
  });
  it('hint lines come from the rows', () => {
    expect(hintLine(['job:asking'])).toBe('y cancel the job   n keep going');
    expect(hintLine(wizardScopes({ kind: 'review', script: true }))).toBe('Enter run   q cancel   w save as script   ↑↓ scroll   Ctrl-C cancel   Esc back');
  });
});

describe('the form model', () => {
  const fields: Field[] = [
    { id: 'host', label: 'Machine', kind: 'text', value: '' },
    { id: 'how', label: 'How', kind: 'choice', value: 'ssh', options: [{ value: 'ssh', label: 'SSH' }, { value: 'file', label: 'File' }] },
    { id: 'port', label: 'Port', kind: 'text', value: '', showWhen: { field: 'how', value: 'ssh' } },
  ];
  const run = (keys: string[]) => {
    let form = makeForm(fields);
    for (const name of keys) {
      const intent = routeKey(formScopes(form), press(name));
      if (intent) form = formKey(form, intent);
    }
    return form;
  };
  it('a burst after ↓ lands in the field ↓ moved to', () => {
    const form = run(['r', 'o', 'o', 't', 'down', 'down', '2', '2', 'down', '/', 'k']);
    expect(fieldValue(form, 'host')).toBe('root/k');
    expect(fieldValue(form, 'port')).toBe('22');
  });
  it('a choice hides a field and the focus skips it', () => {
    const form = run(['down', 'right', 'down']);
    expect(fieldValue(form, 'how')).toBe('file');
    expect(form.focus).toBe(0);
  });
  it('a refusal naming a field moves the focus there', () => {
    const form = withError(makeForm(fields), { field: 'port', sentence: 'bad', fix: 'fix' });
    expect(form.focus).toBe(2);
  });
});

describe('the job controller', () => {
  const plan: Plan = { kind: 'x', title: 'Convert', targets: { guests: [], images: [] }, steps: [{ id: 'a', title: 'copy', undo: { title: 'remove the copy' } }, { id: 'b', title: 'rename' }] };
  it('asks before cancelling, names the undo, and y aborts the run', async () => {
    const shown: (RunView | null)[] = [];
    const jobs = createJobController((v) => shown.push(v));
    let signal: AbortSignal | null = null;
    const done = jobs.start(planSpec(plan, 'the conversion'), async (io) => {
      signal = io.signal;
      io.onEvent({ type: 'step-start', index: 0, step: plan.steps[0] as never });
      await new Promise<void>((r) => io.signal.addEventListener('abort', () => r()));
      return 'cancelled';
    });
    expect(jobs.scopes()).toEqual(['job:running']);
    jobs.perform({ action: 'jobAskCancel', scope: 'job:running', key: press('esc'), row: undefined as never });
    expect(jobs.view()?.asking).toBe(true);
    expect(cancelQuestion(jobs.view()?.spec as never)).toBe('Cancel the conversion? The running step stops and what the job did is undone (remove the copy).');
    jobs.perform({ action: 'jobKeepGoing', scope: 'job:asking', key: press('n'), row: undefined as never });
    expect((signal as AbortSignal | null)?.aborted).toBe(false);
    jobs.askCancel();
    jobs.confirmCancel();
    expect(await done).toBe('cancelled');
    expect((signal as AbortSignal | null)?.aborted).toBe(true);
    jobs.end('cancelled', 'Cancelled.');
    expect(jobs.scopes()).toEqual(['job:done']);
    jobs.close();
    expect(shown.at(-1)).toBeNull();
  });
});
