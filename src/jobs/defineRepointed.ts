/**
 * Defines a guest whose disk a job has just pointed at another file (the base an overlay was
 * committed into), then reads the stored definition back: the job removes the overlay next, and
 * removing it while the definition still names it would leave a guest that cannot start.
 */
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { defineXml, dumpXml, virshArgv } from '../host/virsh.js';
import { summarizeDomainXml } from '../model/domainSummary.js';

export async function defineRepointed(host: HostContext, guest: string, xml: string, target: string, file: string): Promise<void> {
  await defineXml(host, xml);
  const stored = summarizeDomainXml(await dumpXml(host, guest, { inactive: true })).disks.find((d) => d.target === target)?.source ?? null;
  if (stored === file) return;
  throw new HostError({
    sentence: `libvirt stored ${guest}'s disk ${target} as ${stored ?? 'no file'} instead of ${file}, so the file it pointed at before is kept.`,
    fix: `Point ${target} at ${file} by hand (virsh edit ${guest}), check that the guest starts, then remove the old file.`,
    command: virshArgv(host, ['dumpxml', '--inactive', guest]),
    stderr: '',
  });
}
