// `npm run build [OUT_DIR]`: compiles src/ to plain JavaScript in dist/, which `npm start`, the Docker image
// and `bin/sluice.js` run. Node 24 can run the TypeScript sources directly, but its type stripper
// costs each process (and each scan worker thread) about 28 MB of resident memory, for good.
// Type checking is `npm test`'s job; this only emits, in about two seconds.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = process.argv[2] ? resolve(process.argv[2]) : join(root, 'dist');
// Built beside and swapped in at the end: a gateway already running from dist/ may still load
// modules from it (a scan worker restarting, the Redis store).
const partial = `${dist}.partial`;
const startedAt = Date.now();

rmSync(partial, { recursive: true, force: true });
let tsc: string;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write('sluice build: TypeScript is not installed; run `npm ci` with the dev dependencies (not --omit=dev)\n');
  process.exit(1);
}
const built = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', partial], { stdio: 'inherit' });
if (built.status !== 0) {
  rmSync(partial, { recursive: true, force: true });
  process.exit(built.status ?? 1);
}

// Files the code reads at run time next to its modules (the admin page, Redis scripts).
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || extname(entry.name) === '.ts') continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(partial, from.slice(src.length));
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
}

// bin/sluice.js runs dist/ only while no source file is newer than the start of this build.
writeFileSync(join(partial, 'BUILD'), `${startedAt}\n`);
rmSync(dist, { recursive: true, force: true });
renameSync(partial, dist);
