#!/usr/bin/env node
// Runs on Node 24, which loads the TypeScript sources directly.
import { main } from '../src/cli/main.ts';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`sluice: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
