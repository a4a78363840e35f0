/** Destination (d): which backup directory the pane reads; for this session only, config stays as is. */
import { makeForm } from '../form.js';
import type { PaneContext } from './context.js';

export function chooseDestination(ctx: PaneContext) {
  const { get, set, say } = ctx;
  const settings = ctx.deps.settings();
  set({
    form: {
      title: 'Backup destination',
      lines: settings.destinations.length ? ['Configured:', ...settings.destinations.map((d) => `  ${d}`)] : ['No destination is configured (config.json backup.destinations).'],
      form: makeForm([{ id: 'dir', label: 'Directory', kind: 'text', value: get().dest ?? settings.destinations[0] ?? '' }]),
      submit: ({ dir }) => {
        if (!dir?.startsWith('/')) return say('A destination is an absolute directory, e.g. /mnt/backup.', 'error');
        set({ dest: dir.replace(/\/+$/, '') || '/', level: 'guests', guestIndex: 0 });
        void ctx.reload();
      },
    },
  });
}
