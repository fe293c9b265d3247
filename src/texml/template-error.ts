/**
 * A call-flow template that cannot be used. The message reads `file:line: reason` (the form
 * editors and terminals link), so start-up stops pointing at the line to fix.
 */
export class TemplateError extends Error {
  constructor(
    /** The template file, relative to the working directory when it lies inside it. */
    readonly file: string,
    /** 1-based line in `file`; undefined when the problem is the file as a whole (e.g. missing). */
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
    this.name = 'TemplateError';
  }
}
