/** Exit code of a command line the tool cannot run (bad or missing arguments). */
export const EXIT_BAD_ARGUMENTS = 2;
/** Exit code when a pull (or what it needs from DTR) failed. */
export const EXIT_FAILED = 1;

/** A failure reported as one line on stderr, with the process's exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A bad argument (exit 2). */
export const badArgument = (message: string) => new CliError(message, EXIT_BAD_ARGUMENTS);
