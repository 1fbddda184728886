#!/usr/bin/env node
// Runs the compiled build in dist/ (`npm run build`; `npm start` builds first) while it is current,
// else the TypeScript sources directly on Node 24: a build older than any source file is ignored,
// so an edit or a checkout never runs stale code.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

function buildIsCurrent() {
  const stamp = new URL('dist/BUILD', root);
  if (!existsSync(stamp)) return false;
  const builtAt = Number(readFileSync(stamp, 'utf8'));
  const src = new URL('src/', root);
  if (!existsSync(src)) return true; // an install of the build alone (the Docker image)
  return readdirSync(src, { recursive: true, withFileTypes: true })
    .every((entry) => !entry.isFile() || statSync(`${entry.parentPath}/${entry.name}`).mtimeMs <= builtAt);
}

const { main } = await import(buildIsCurrent() ? '../dist/cli/main.js' : '../src/cli/main.ts');

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`sluice: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
