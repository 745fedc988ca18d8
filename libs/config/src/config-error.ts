/** One problem of a configuration: the key path and what is wrong with its value. */
export interface ConfigIssue {
  /** Key path in the registry's notation, e.g. `middleware.registry[0].options.blobttl`. */
  readonly path: string;
  /** What is wrong, naming the bad value and what is expected. */
  readonly message: string;
}

/** A configuration that must not start a service; `issues` lists every problem found. */
export class ConfigError extends Error {
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly source?: string,
  ) {
    const lines = issues.map((issue) =>
      issue.path ? `  ${issue.path}: ${issue.message}` : `  ${issue.message}`,
    );
    const where = source ? ` (${source})` : '';
    super(`invalid configuration${where}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Thrown by a format's parser for a value with problems below it (a list or a map). Paths are
 * relative to the value: `[0].options.blobttl`, `.level`, or `''` for the value itself.
 */
export class ConfigValueError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
    this.name = 'ConfigValueError';
  }
}

/** Collects issues while parsing a structured value. */
export class IssueCollector {
  readonly issues: ConfigIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** Runs `parse`, recording its failure under `path`; returns undefined on failure. */
  attempt<T>(path: string, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (error) {
      for (const issue of issuesOf(error))
        this.issues.push({ path: path + issue.path, message: issue.message });
      return undefined;
    }
  }

  /** Throws a {@link ConfigValueError} if anything was recorded. */
  throwIfAny(): void {
    if (this.issues.length > 0) throw new ConfigValueError(this.issues);
  }
}

/** The issues an error thrown by a parser stands for, with paths relative to the parsed value. */
export function issuesOf(error: unknown): readonly ConfigIssue[] {
  if (error instanceof ConfigValueError) return error.issues;
  return [{ path: '', message: error instanceof Error ? error.message : String(error) }];
}

/** A short, quoted rendering of a value for messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text =
    typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
