#!/usr/bin/env node
// Starts the coffer command from the compiled output in dist/ (built by `npm install` or `npm run build`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`coffer: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
