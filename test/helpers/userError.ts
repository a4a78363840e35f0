import { HostError } from '../../src/host/errors.js';
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

/** The HostError the promise rejects with; a resolved promise or any other error fails the test. */
export async function failure(p: Promise<unknown>): Promise<HostError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof HostError)) throw new Error(`expected a HostError, got ${String(e)}`);
  return e;
}
