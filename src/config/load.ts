// Reads, validates (listing every problem at once) and freezes the config.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { configSchema, type Config } from './schema.ts';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source}: ${problems.length} problem(s)\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Validates an already-parsed object; throws ConfigError listing every problem. */
export function parseConfig(input: unknown, source = 'config'): Readonly<Config> {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.length ? issue.path.join('.') : '(top level)';
      return `${path}: ${issue.message}`;
    });
    throw new ConfigError(source, problems);
  }
  return deepFreeze(result.data);
}

export function parseConfigText(text: string, source = 'config'): Readonly<Config> {
  const doc = parseDocument(text, { prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message.split('\n')[0]);
  if (doc.errors.length) throw new ConfigError(source, problems);
  return parseConfig(doc.toJS(), source);
}

export function loadConfig(file: string): Readonly<Config> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read: ${(err as Error).message}`]);
  }
  return parseConfigText(text, file);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
