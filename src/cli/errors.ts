import { UserError } from '../fixtures/errors.js';

export { UserError, InputFileError, FormatError, OutputError, ResourceLimitError } from '../fixtures/errors.js';

/** A mistake in how the CLI was called (a flag, a number out of range): one line, exit code 2. */
export class UsageError extends UserError {
  override readonly name: string = 'UsageError';
}
