/** Schedule (S): set, change or remove the timer that runs backup and prune on the host. */
import { parseLibvirtUri } from '../../config/connect.js';
import { checkSchedule, parseDays, WEEKDAYS } from '../../model/schedule.js';
import { UserError } from '../../model/userError.js';
import { scheduleReviewLines } from '../backupsText.js';
import { type Field, makeForm } from '../form.js';
import type { PaneContext } from './context.js';


const SET = 'set or change';

function remoteUri(uri: string): boolean {
  try {
    return parseLibvirtUri(uri).host !== null;
  } catch {
    return false;
  }
}
const REMOVE = 'remove';
const NO_DRILL = 'no';
const DRILL = 'yes, every guest after the run';

function writeSchedule(ctx: PaneContext, wanted: { at: string; days: string; dest: string; drill: boolean }) {
  const { host, say } = ctx;
  const install = ctx.deps.installSchedule;
  if (!install) return;
  const schedule = { at: wanted.at, days: parseDays(wanted.days), dest: wanted.dest, ...(wanted.drill ? { drill: true } : {}) };
  say('Working out the schedule file…', 'busy');
  install(host, schedule, { dryRun: true }).then(
    (change) => {
      say('This is what will be written; Enter writes it.');
      ctx.openReview({
        title: `Backup schedule · ${change.kind}`,
        lines: scheduleReviewLines(change, new Date()),
        enter: 'write',
        onEnter: () => {
          ctx.set({ review: null });
          say(`Writing ${change.files.map((f) => f.path).join(', ')}…`, 'busy');
          install(host, schedule, {}).then(
            (done) => {
              say(`Schedule written to ${done.files.map((f) => f.path).join(', ')}.`);
              void ctx.loadSchedule();
            },
            (e) => ctx.showError('Could not write the backup schedule', e),
          );
        },
      });
    },
    (e) => ctx.showError('Could not prepare the backup schedule', e),
  );
}

function dropSchedule(ctx: PaneContext) {
  const { host, say } = ctx;
  const remove = ctx.deps.removeSchedule;
  if (!remove) return;
  remove(host, { dryRun: true }).then(
    (files) => {
      if (files.length === 0) return say('No backup schedule is installed.');
      ctx.app.getState().pushDialog({
        kind: 'confirm',
        title: 'Remove the backup schedule',
        lines: ['These files are renamed to .bak, so no scheduled backup or prune runs any more:', ...files.map((f) => `  ${f}`)],
        yes: 'remove the schedule',
        onYes: () =>
          remove(host, {}).then(
            (gone) => {
              say(`Schedule removed (${gone.join(', ')} kept as .bak).`);
              void ctx.loadSchedule();
            },
            (e) => ctx.showError('Could not remove the backup schedule', e),
          ),
      });
    },
    (e) => ctx.showError('Could not read the backup schedule', e),
  );
}

export function editSchedule(ctx: PaneContext) {
  const { deps, get } = ctx;
  if (!deps.installSchedule || !deps.removeSchedule) return ctx.notWired('The schedule', 'virtdeck backup schedule set --at 01:30 --dest DIR');
  const current = get().schedule?.status?.installed ?? null;
  const sc = current?.schedule ?? null;
  const fields: Field[] = [
    { id: 'at', label: 'At (HH:MM)', kind: 'text', value: sc?.at ?? '01:30' },
    { id: 'days', label: 'Days', kind: 'text', value: sc?.days.length ? sc.days.join(',') : 'daily' },
    { id: 'dest', label: 'Destination', kind: 'text', value: sc?.dest ?? get().dest ?? '' },
    { id: 'drill', label: 'Restore drill', kind: 'choice', value: sc?.drill ? DRILL : NO_DRILL, options: [NO_DRILL, DRILL].map((v) => ({ value: v, label: v })) },
  ];
  // Removing is offered only when there is a schedule to remove.
  const withAction = current !== null;
  ctx.set({
    form: {
      title: current ? 'Backup schedule' : 'Set a backup schedule',
      lines: [
        // A remote host's schedule runs here (jobs/schedule.ts): say so before the review shows the file.
        remoteUri(ctx.host.uri)
          ? `At that time this machine runs \`virtdeck backup run --all\` against ${ctx.host.name}, then \`backup prune\`.`
          : 'At that time the host runs `virtdeck backup run --all`, then `backup prune`.',
        `Days: daily, or a list such as ${WEEKDAYS.slice(1, 6).join(',')}. Host local time. The next screen shows the file.`,
      ],
      form: makeForm(
        withAction
          ? [{ id: 'action', label: 'Schedule', kind: 'choice', value: SET, options: [SET, REMOVE].map((v) => ({ value: v, label: v })) }, ...fields.map((f) => ({ ...f, showWhen: { field: 'action', value: SET } }))]
          : fields,
      ),
      submit: ({ action = SET, at, days, dest, drill }) => {
        if (action === REMOVE) return dropSchedule(ctx);
        if (!dest?.startsWith('/')) throw new UserError('The schedule needs an absolute destination directory.', 'Type the mount point of the backup disk, e.g. /mnt/backup.');
        // Checked here so a typo keeps the form open; installSchedule checks again.
        checkSchedule({ at: at ?? '', days: parseDays(days), dest });
        writeSchedule(ctx, { at: at ?? '', days: days ?? '', dest, drill: drill === DRILL });
      },
    },
  });
}
