/**
 * A wizard step's refusal as the store keeps it: sentence, fix and, when it is about one field,
 * that field (a FieldRefusal's, never read out of the sentence). HostErrors keep the command.
 */
import { HostError, toHostError } from '../../host/errors.js';
import { FieldRefusal, UserError } from '../../model/userError.js';
import type { FormError } from '../form.js';

export type Problem = FormError;

/** What a caught error shows: a UserError as is (with its field), anything else as a HostError. */
export function problemOf(e: unknown): Problem {
  const err = e instanceof UserError ? e : toHostError(e);
  return { sentence: err.sentence, fix: err.fix, field: err instanceof FieldRefusal ? err.field : undefined };
}

/** A result screen's error: the error object itself (HostError keeps the command that failed). */
export function shownErrorOf(e: unknown): UserError | HostError {
  return e instanceof UserError || e instanceof HostError ? e : toHostError(e);
}
