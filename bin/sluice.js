#!/usr/bin/env node
// Runs the compiled build in dist/ (`npm run build`) while it is current, else the TypeScript sources
// directly on Node 24: a build older than any source file is ignored, so an edit or a checkout never
// runs stale code.
//
// `serve` runs for a long time, so however it is started (npm start, a systemd unit, npx sluice, the
// Docker image) it first builds dist/ when that is missing or stale, and runs with the memory settings
// below: the sources cost each process and scan worker about 28 MB more (Node's type stripper), and
// V8's and glibc's defaults let a busy gateway's resident size grow to twice what it needs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const args = process.argv.slice(2);

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`sluice: needs Node 24 or later, this is ${process.version}; \`npm ci\` installs it: run \`npx sluice …\`, or ${fileURLToPath(new URL('node_modules/.bin/node', root))} ${fileURLToPath(import.meta.url)} …\n`);
  process.exit(1);
}

/**
 * A smaller young generation, and an old generation that grows by 30% past what survived the last full
 * collection; fewer glibc malloc arenas for Node's helper threads. An operator's own value of any of them wins.
 * A young generation four times as large (32 MB semi-spaces) cost no less CPU per message in the throughput
 * bench (gateway CPU 3.59 and 4.00 ms against 3.57 and 3.05 ms, runs interleaved) and raised the peak RSS
 * from about 165 to 210 MB.
 */
const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=30'];
const GATEWAY_ENV = { MALLOC_ARENA_MAX: '2' };

function buildIsCurrent() {
  const stamp = new URL('dist/BUILD', root);
  if (!existsSync(stamp)) return false;
  const builtAt = Number(readFileSync(stamp, 'utf8'));
  const src = new URL('src/', root);
  if (!existsSync(src)) return true; // an install of the build alone (the Docker image)
  return readdirSync(src, { recursive: true, withFileTypes: true })
    .every((entry) => !entry.isFile() || statSync(`${entry.parentPath}/${entry.name}`).mtimeMs <= builtAt);
}

/** Builds dist/ when it is missing or stale and TypeScript is installed; gateways starting at once build it once. */
function ensureBuild() {
  if (buildIsCurrent() || !existsSync(new URL('bin/build.ts', root))) return;
  try {
    createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return; // installed without dev dependencies: the sources run
  }
  const lock = fileURLToPath(new URL('dist.lock', root));
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      // The install folder is not ours to write (a service user): the sources run, as without TypeScript.
      if (err.code !== 'EEXIST') return;
      // Another start is building; a lock left by a build that died is taken over after two minutes.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      if (buildIsCurrent()) return;
    }
  }
  try {
    if (buildIsCurrent()) return;
    const built = spawnSync(process.execPath, [fileURLToPath(new URL('bin/build.ts', root))], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (built.status !== 0) process.stderr.write('sluice: the build failed; running the TypeScript sources\n');
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Starts this command again in the same process (execve: same pid, for systemd and signals) with the gateway's settings. */
function execWithGatewaySettings() {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((flag) => flag.split('=')[0]);
  const flags = GATEWAY_NODE_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]));
  const env = Object.fromEntries(Object.entries(GATEWAY_ENV).filter(([name]) => process.env[name] === undefined));
  if ((flags.length === 0 && Object.keys(env).length === 0) || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, fileURLToPath(import.meta.url), ...args], { ...process.env, ...env });
}

if (args[0] === 'serve') {
  ensureBuild();
  execWithGatewaySettings();
}

const { main } = await import(buildIsCurrent() ? '../dist/cli/main.js' : '../src/cli/main.ts');

main(args).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`sluice: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
