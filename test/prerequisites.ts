// Run by `npm test` before the suite (the `pretest` script): the suite uses real programs from Debian
// packages, a redis-server for the Redis store, Chromium for the quarantine page and jq for the
// operator's guide (its one-liners run on real output). When one is missing,
// root installs it with apt-get; anyone else gets one line naming what to install, in the first seconds,
// instead of failed test files.
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

interface Prerequisite {
  /** The Debian package that brings it. */
  pkg: string;
  /** The program the tests start (test/helpers/redis-server.ts, test/admin/ui.test.ts, test/docs/guide.test.ts). */
  program: string;
}

const PREREQUISITES: Prerequisite[] = [
  { pkg: 'redis-server', program: 'redis-server' },
  // redis-cli --cluster create joins the Cluster of test/e2e/cluster.test.ts; redis-server depends on it.
  { pkg: 'redis-tools', program: 'redis-cli' },
  { pkg: 'chromium', program: '/usr/bin/chromium' },
  { pkg: 'jq', program: 'jq' },
];

function runnable(program: string): boolean {
  const candidates = program.includes('/') ? [program] : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, program));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missingPackages = () => PREREQUISITES.filter((p) => !runnable(p.program)).map((p) => p.pkg);

let missing = missingPackages();
if (missing.length === 0) process.exit(0);

const list = missing.join(' ');
const canInstall = process.getuid?.() === 0 && runnable('apt-get');
if (!canInstall) {
  process.stderr.write(`npm test needs the Debian package${missing.length > 1 ? 's' : ''} ${list}: install ${missing.length > 1 ? 'them' : 'it'} as root (apt-get install -y ${list}) and run npm test again\n`);
  process.exit(1);
}

process.stderr.write(`npm test: installing ${list} with apt-get, which the tests run for real\n`);
try {
  const apt: ExecFileSyncOptions = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'ignore', 'pipe'] };
  execFileSync('apt-get', ['update', '-qq'], apt);
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], apt);
} catch (err) {
  const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim().split('\n').pop();
  process.stderr.write(`npm test: apt-get could not install ${list}${stderr ? ` (${stderr})` : ''}: install ${missing.length > 1 ? 'them' : 'it'} and run npm test again\n`);
  process.exit(1);
}
missing = missingPackages();
if (missing.length) {
  process.stderr.write(`npm test: ${missing.join(' ')} still missing after apt-get install\n`);
  process.exit(1);
}
