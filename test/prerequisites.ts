// Run by `npm test` before the suite (the `pretest` script): the suite uses real programs from Debian
// packages, a redis-server for the Redis store, Chromium for the quarantine page and jq for the
// operator's guide (its one-liners run on real output). When one is missing,
// root installs it with apt-get; anyone else gets one line naming what to install, in the first seconds,
// instead of failed test files (test/helpers/debian-packages.ts, which the benchmarks use too).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { installWhenMissing } from './helpers/debian-packages.ts';

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

const missing = missingPackages();
if (missing.length === 0) process.exit(0);

const list = missing.join(' ');
if (process.getuid?.() === 0) process.stderr.write(`npm test: installing ${list} with apt-get, which the tests run for real\n`);
const failure = installWhenMissing(missing, () => missingPackages().length === 0);
if (failure) {
  process.stderr.write(`npm test needs the Debian package${missing.length > 1 ? 's' : ''} ${list}: ${failure}; run npm test again once ${missing.length > 1 ? 'they are' : 'it is'} installed\n`);
  process.exit(1);
}
