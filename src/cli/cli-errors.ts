// Errors of the command line itself (bad arguments), and the one place errors become a stderr line.
import { TesseraError, isTesseraError } from '../errors.ts';

export class UsageError extends TesseraError {
  readonly code = 'ERR_CLI_USAGE';
}

/** Prints one clear line for any error and returns the exit code to use. */
export function reportCliError(error: unknown): number {
  if (isTesseraError(error)) {
    process.stderr.write(`tessera: ${error.message} [${error.code}]\n`);
    return error.code === 'ERR_CLI_USAGE' ? 2 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`tessera: unexpected error: ${message}\n`);
  if (process.env.TESSERA_DEBUG) console.error(error);
  return 1;
}
