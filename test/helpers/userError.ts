import { UserError } from '../../src/model/userError.js';

/** The UserError `fn` throws; anything else (or nothing) fails the test. */
export function catchUserError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}
