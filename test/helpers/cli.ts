// Runs `sluice` as a user does: a child process on the project's Node, in the repository folder.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runSluice(...args: string[]): Promise<CliResult> {
  return runSluiceWithInput(undefined, ...args);
}

/** As `runSluice`, with `input` piped to the command's standard input (for `-` as a path). */
export async function runSluiceWithInput(input: string | Buffer | undefined, ...args: string[]): Promise<CliResult> {
  const running = promisify(execFile)(process.execPath, ['bin/sluice.js', ...args], { timeout: 20000 });
  running.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await running;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
