// `sluice <command>`: the command table. Each command lives in its own file and receives its argv tail.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Returns the process exit code. */
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).serveCommand,
  check: async () => (await import('./check.ts')).checkCommand,
  quarantine: async () => (await import('./quarantine.ts')).quarantineCommand,
  config: async () => (await import('./config.ts')).configCommand,
  doctor: async () => (await import('./doctor.ts')).doctorCommand,
  symbols: async () => (await import('./symbols.ts')).symbolsCommand,
  learn: async () => (await import('./learn.ts')).learnCommand,
  bayes: async () => (await import('./bayes.ts')).bayesCommand,
  greylist: async () => (await import('./greylist.ts')).greylistCommand,
  ratelimit: async () => (await import('./ratelimit.ts')).ratelimitCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`sluice: unknown command '${name}'\n`);
    await printHelp();
    return 2;
  }
  const command = await load();
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`sluice ${name}: ${(err as Error).message}\nusage: ${command.usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`usage: ${command.usage}\n${command.summary}\n`);
    return 0;
  }
  return command.run(parsed.values, parsed.positionals);
}

async function printHelp(): Promise<void> {
  const lines = ['usage: sluice <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) lines.push(`  ${name.padEnd(12)} ${(await load()).summary}`);
  process.stdout.write(lines.join('\n') + '\n');
}
