import { resolve } from 'node:path';

/**
 * A file of the shared test corpus (hivex hives, libvirt's vmx→XML pairs), which lives next to
 * the clone (../shared/corpus) and is not copied into the repo. VIRTDECK_CORPUS names it where the
 * clone is elsewhere, e.g. a git worktree one level deeper than the main clone.
 */
export function corpusPath(...parts: string[]): string {
  return resolve(process.env.VIRTDECK_CORPUS ?? resolve(import.meta.dirname, '../../../shared/corpus'), ...parts);
}
