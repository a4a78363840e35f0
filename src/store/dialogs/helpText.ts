import { paneScopes } from '../keys/owners.js';
import { helpRows } from '../keys/router.js';
import { PANES, type PaneId } from '../paneIds.js';

/** The `?` overlay of a pane: every key of its scopes with its sentence and `:` command. */
export function helpLines(pane: PaneId): string[] {
  const lines = [`Keys in the ${PANES.find((p) => p.id === pane)?.title ?? pane} pane:`];
  for (const r of helpRows(paneScopes(pane).filter((s) => s !== 'console'))) {
    lines.push(`  ${r.keys.padEnd(14)} ${r.description}${r.command ? `  (${r.command})` : ''}`);
  }
  lines.push('', 'Commands after ":" complete with Tab; a command without NAME acts on the selected guest.');
  return lines;
}
