/**
 * Destination (d): which backup directory the pane reads. The form asks whether it is for this
 * session only or saved to the config file (backup.defaultDestination), where the next session
 * starts; the line after says which it was, and where it was saved.
 */
import { type ChoiceOption, makeForm } from '../form.js';
import type { PaneContext } from './context.js';

const KEEP: ChoiceOption[] = [
  { value: 'save', label: 'save in the config file' },
  { value: 'session', label: 'this session only' },
];

export function chooseDestination(ctx: PaneContext) {
  const { get, set, say } = ctx;
  const settings = ctx.deps.settings();
  const save = ctx.deps.saveDestination;
  set({
    form: {
      title: 'Backup destination',
      lines: settings.destinations.length ? ['Configured:', ...settings.destinations.map((d) => `  ${d}`)] : ['No destination is configured (config.json backup.destinations).'],
      form: makeForm([
        { id: 'dir', label: 'Directory', kind: 'text', value: get().dest ?? settings.destinations[0] ?? '' },
        ...(save
          ? [{ id: 'keep', label: 'Keep it', kind: 'choice' as const, value: 'save', options: KEEP, help: 'save: new sessions start on it (backup.defaultDestination in the config file).' }]
          : []),
      ]),
      submit: ({ dir, keep }) => {
        if (!dir?.startsWith('/')) return say('A destination is an absolute directory, e.g. /mnt/backup.', 'error');
        const chosen = dir.replace(/\/+$/, '') || '/';
        // A save that fails throws: the form stays open behind the error, nothing changed.
        const file = save && keep === 'save' ? save(chosen) : null;
        set({ dest: chosen, level: 'guests', guestIndex: 0 });
        // The pane's header names the directory; the line says where it was kept, and fits 80 columns.
        say(file ? `Saved to ${file} as backup.defaultDestination.` : 'This destination is for this session only; the config file is unchanged.');
        void ctx.reload();
      },
    },
  });
}
