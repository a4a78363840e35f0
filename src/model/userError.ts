/**
 * Bad input from the admin (a typo'd MAC, a port below 5900, a name already in use): one sentence
 * saying what is wrong and one saying how to fix it. Pure modules throw this; the UI and CLI show
 * it without a stack trace. A refusal of one input names it in `field` (the flag's or form field's
 * id), so a form puts it on that field without reading the sentence.
 */
export class UserError extends Error {
  constructor(
    readonly sentence: string,
    readonly fix: string,
    readonly field?: string,
  ) {
    super(`${sentence} ${fix}`);
    this.name = 'UserError';
  }
}
