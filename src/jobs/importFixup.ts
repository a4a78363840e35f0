/**
 * The import's guest fix-up, the side-effect half (model/importFixup.ts decides): which tools the
 * host has, the virtio-win ISO check, and the two actions: virt-v2v-in-place on the temp copies
 * (its input XML written into their private directory, its stage lines as progress, every line
 * into the job log) and MergeIDE on the defined guest through the MergeIDE job itself.
 */
import { stateDir } from '../config/paths.js';
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { type V2vArgs, v2vError, v2vStage } from '../model/importFixup.js';
import { shown } from '../model/shown.js';
import { FieldRefusal, UserError } from '../model/userError.js';
import { checkIsoOnHost } from './isoCheck.js';
import { prepareMergeIde, runMergeIde } from './mergeide.js';
import type { Action } from './runner.js';

/** Is virt-v2v-in-place on the host's PATH (where the copies are)? */
export async function probeFixupTools(host: HostContext, signal?: AbortSignal): Promise<{ v2vInPlace: boolean }> {
  const r = await host.sysExec.run(['sh', '-c', 'command -v virt-v2v-in-place'], { okExitCodes: [1, 127], signal });
  return { v2vInPlace: r.exitCode === 0 && r.stdout.trim() !== '' };
}

/** The named virtio-win ISO must be a readable file or device on the host, checked before anything runs. */
export async function virtioWinRefusal(host: HostContext, iso: string | undefined, signal?: AbortSignal): Promise<UserError | null> {
  if (!iso) return null;
  try {
    await checkIsoOnHost(host, iso, signal);
    return null;
  } catch (e) {
    if (e instanceof UserError) return new FieldRefusal('virtioWin', e.sentence, e.fix);
    throw e;
  }
}

/** What virt-v2v said, as one sentence and its fix. */
export function v2vFailure(guest: string, output: string): UserError {
  const said = v2vError(output);
  if (said && /inspection could not detect the source guest/i.test(said)) {
    return new UserError(
      `virt-v2v found no operating system on the disks of ${guest}, so it could not fix them up; the import was undone and the VMware files are unchanged.`,
      'Import again with --fixup none (the disks copied as they are), or check that the .vmx or OVF names the system disk.',
    );
  }
  return new UserError(
    `virt-v2v-in-place failed on the copies of ${guest}: ${shown(said?.replace(/[.\s]+$/, '') || 'it gave no reason')}; the import was undone and the VMware files are unchanged.`,
    'Its whole output is in the job log; import again with --fixup none to copy the disks without a fix-up.',
  );
}

export function importFixupActions(host: HostContext): Record<string, Action> {
  const exec = host.sysExec;
  return {
    'import.v2v': async (raw, ctx) => {
      const a = raw as V2vArgs;
      // The temp directory is the job's own (mode 0700); the XML names only the copies in it.
      await exec.run(['sh', '-c', 'umask 077 && cat > "$1"', 'sh', a.xmlPath], { input: a.xml, signal: ctx.signal });
      let output = '';
      let pending = '';
      let done = 0;
      const onChunk = (chunk: string) => {
        output += chunk;
        pending += chunk;
        const lines = pending.split(/\r?\n/);
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() === '') continue;
          ctx.log(`virt-v2v: ${shown(line)}`);
          const stage = v2vStage(line);
          if (stage && stage.fraction > done) {
            done = stage.fraction;
            ctx.progress(done, 0);
          }
        }
      };
      try {
        await exec.run(a.argv, { signal: ctx.signal, timeoutMs: 6 * 3600_000, onStdout: onChunk, onStderr: onChunk });
        if (pending.trim()) ctx.log(`virt-v2v: ${shown(pending)}`);
        ctx.progress(1, 0);
        ctx.log(`virt-v2v-in-place fixed up ${a.disks.join(', ')}`);
      } catch (e) {
        if (ctx.signal.aborted || !(e instanceof HostError)) throw e;
        if (pending.trim()) ctx.log(`virt-v2v: ${shown(pending)}`);
        throw v2vFailure(a.guest, `${output}\n${e.stderr ?? ''}`);
      } finally {
        await exec.run(['rm', '-f', '--', a.xmlPath]).catch(() => undefined);
      }
    },
    'import.v2vClean': async (raw) => {
      await exec.run(['rm', '-f', '--', (raw as { xmlPath: string }).xmlPath]);
    },
    'import.mergeide': async (raw, ctx) => {
      const a = raw as { guest: string; virtioIso?: string };
      const prepared = await prepareMergeIde(host, { guest: a.guest, mode: 'offline', virtioIso: a.virtioIso }, ctx.signal);
      for (const w of prepared.warnings) ctx.log(`MergeIDE: ${w}`);
      if (prepared.plan.steps.length === 0) {
        ctx.log('MergeIDE: every key and value is there already');
        return;
      }
      // Its own journal: an interrupted merge is finished or rolled back by `virtdeck recover` like any MergeIDE.
      const r = await runMergeIde(host, prepared.plan, {
        stateDir: stateDir(),
        signal: ctx.signal,
        onEvent: (e) => {
          if (e.type === 'step-end') ctx.log(`MergeIDE: done: ${e.step.title}`);
        },
      });
      if (r.state !== 'done') throw r.error ?? new UserError(`MergeIDE on ${a.guest} was ${r.state}.`, `The journal ${r.journal.path} has the details.`);
      ctx.log(`MergeIDE: merged into ${a.guest}'s registry (journal ${r.journal.path})`);
    },
  };
}
