/** At start-up: jobs a crash or SIGKILL left half-done are offered to finish or roll back. */
import type { RecoveryItem } from '../../jobs/recovery.js';
import { UserError } from '../../model/userError.js';
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';

export async function offerRecovery(ctx: PaneContext) {
  const { app, deps, host } = ctx;
  let items: RecoveryItem[];
  try {
    items = await deps.detectRecovery(host, { stateDir: deps.stateDir(), guests: app.getState().guests });
  } catch (e) {
    // Detection is a courtesy at start-up; the console must open even when it fails. A state
    // directory refused as untrusted is said, though: the admin has to fix it.
    if (e instanceof UserError) app.getState().setMessage(`${e.sentence} ${e.fix}`, 'error');
    return;
  }
  if (items.length === 0) return;
  app.getState().pushDialog({
    kind: 'recovery',
    title: items.length === 1 ? 'virtdeck found a job left half-done' : `virtdeck found ${items.length} things left half-done`,
    items,
    index: 0,
    busy: null,
    results: {},
    onChoose: (item, how) => {
      app.getState().updateDialog('recovery', (d) => ({ ...d, busy: item.id }));
      deps.resolveRecovery(host, item, how, { stateDir: deps.stateDir() }).then(
        (r) => app.getState().updateDialog('recovery', (d) => ({ ...d, busy: null, results: { ...d.results, [item.id]: r.message } })),
        (e) => app.getState().updateDialog('recovery', (d) => ({ ...d, busy: null, results: { ...d.results, [item.id]: toShownError(e).sentence } })),
      );
    },
  });
}
