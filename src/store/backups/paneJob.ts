/**
 * The pane's job screen: one job at a time (back up now, verify, restore, prune) through the one
 * job controller, so its rows come from the one reducer and cancel asks the one question before
 * anything stops. Rows are plan steps (restore) or labels (guests, runs, directories).
 */
import { createJobController, type JobController, type JobIo } from '../jobs/jobController.js';
import type { JobSpec, RunState } from '../jobs/runView.js';
import type { KeyOwner } from '../keys/owners.js';
import type { Scope } from '../keys/table.js';
import type { PaneContext } from './context.js';

export interface PaneJob {
  controller: JobController;
  owner: KeyOwner;
  /** Shows the job screen and runs the job; the io's signal aborts when the admin cancels (after y) or the console quits. */
  run(spec: JobSpec, run: (io: JobIo) => Promise<void>): void;
  /** The job ended: its summary stays until Enter or Esc closes the screen. */
  end(state: Exclude<RunState, 'running' | 'cancelling' | 'detaching' | 'detached'>, summary: string): void;
}

export function createPaneJob(ctx: PaneContext): PaneJob {
  const controller = createJobController((view) => ctx.set({ job: view }), undefined, { quit: () => ctx.app.getState().quit(), handOver: ctx.deps.handOver });
  const owner: KeyOwner = {
    scopes(): Scope[] {
      const own = controller.scopes();
      // "c cancel" as the pane has always shown it; the job's own rows stand behind (Esc, Ctrl-C ask too).
      return own[0] === 'job:running' ? ['pane:backups-job', ...own] : own;
    },
    perform(intent) {
      controller.perform(intent);
      if (intent.action === 'jobConfirmCancel') ctx.say('Cancelling: the running step stops and what it made is removed…', 'busy');
    },
  };
  return {
    controller,
    owner,
    run(spec, run) {
      ctx.say(`${spec.title}…`, 'busy');
      void controller.start(spec, run).catch(() => undefined);
    },
    end(state, summary) {
      controller.end(state, summary);
      ctx.say(controller.handedOver() ? 'The job goes on in the background: Enter or Esc closes this view.' : 'Finished: Enter or Esc closes this view.');
      void ctx.reload();
    },
  };
}
