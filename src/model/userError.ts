/**
 * Bad input from the admin (a typo'd MAC, a port below 5900, a name already in use): one sentence
 * saying what is wrong and one saying how to fix it. Pure modules throw this; the UI and CLI show
 * it without a stack trace.
 */
export class UserError extends Error {
  constructor(
    readonly sentence: string,
    readonly fix: string,
  ) {
    super(`${sentence} ${fix}`);
    this.name = 'UserError';
  }
}

/** A UserError about one field of a form (its id): the form shows it there and focuses the field. */
export class FieldRefusal extends UserError {
  constructor(
    readonly field: string,
    sentence: string,
    fix: string,
  ) {
    super(sentence, fix);
    this.name = 'FieldRefusal';
  }
}
