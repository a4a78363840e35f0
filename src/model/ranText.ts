import { shellQuote } from './shellQuote.js';

/**
 * The "ran:" of an error: the command as a shell would take it back (each word quoted), and where
 * it ran when that was another machine over ssh, so a copied line is not run on the wrong one.
 */
export function ranText(command: readonly string[], ranOn?: string | null): string {
  const line = command.map(shellQuote).join(' ');
  return ranOn ? `${line}   (over ssh on ${ranOn})` : line;
}
