// Runs the coffer command from source, e.g. `node --import tsx src/cli/entry.ts status`.
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`coffer: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
