/**
 * Any failure reduced to what the error dialog shows: a UserError's sentence and fix, or a
 * HostError's with its command and stderr. Lives apart from the app store so every pane and flow
 * can show errors without importing the console that builds them.
 */
import { HostError, toHostError } from '../host/errors.js';
import { explainKnown } from '../model/knownErrors.js';
import { UserError } from '../model/userError.js';
import type { ShownError } from './types.js';

export function toShownError(e: unknown): ShownError {
  if (e instanceof UserError) return { sentence: e.sentence, fix: e.fix, command: [], stderr: '' };
  const h = e instanceof HostError ? e : toHostError(e);
  // A HostError made without a specific explanation may still carry a message the catalog knows.
  const known = h.code === 'unknown' ? explainKnown(h.stderr) : null;
  const ranOn = h.ranOn ? { ranOn: h.ranOn } : {};
  if (known) return { sentence: known.sentence, fix: known.fix, command: h.command, stderr: h.stderr, ...ranOn };
  return { sentence: h.sentence, fix: h.fix, command: h.command, stderr: h.stderr, ...ranOn };
}
