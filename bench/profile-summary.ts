// Lists the functions with the most self time in a V8 CPU profile (`--cpu-prof` output).
// Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]
// Positions in dist/ are mapped back to src/ through the `.js.map` files tsc writes beside them.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './processes.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const sourceMaps = new Map<string, SourceMap | null>();

function sourceMapFor(file: string): SourceMap | null {
  if (!sourceMaps.has(file)) {
    const mapFile = `${file}.map`;
    sourceMaps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : null);
  }
  return sourceMaps.get(file)!;
}

/** Names a call frame as `function (path:line)`, with 1-based lines, mapped to src/ when possible. */
function describeFrame(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  if (!frame.url.startsWith('file://')) return `${name} (${frame.url}:${frame.lineNumber + 1})`;

  const file = fileURLToPath(frame.url);
  const entry = sourceMapFor(file)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry && 'originalSource' in entry && entry.originalSource) {
    const original = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
    const source = original.startsWith('/') ? original : new URL(original, frame.url).pathname;
    return `${name} (${relative(REPO_ROOT, source)}:${entry.originalLine + 1})`;
  }
  return `${name} (${relative(REPO_ROOT, file)}:${frame.lineNumber + 1})`;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
if (positionals.length !== 1) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile;

// Sum the sampled time of each node, then group nodes by their frame description.
const nodeById = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<string, number>();
let totalMicros = 0;
profile.samples.forEach((nodeId, index) => {
  const delta = profile.timeDeltas[index] ?? 0;
  const node = nodeById.get(nodeId);
  if (!node) return;
  const key = describeFrame(node.callFrame);
  selfMicros.set(key, (selfMicros.get(key) ?? 0) + delta);
  totalMicros += delta;
});

const top = [...selfMicros.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
process.stdout.write(`total sampled: ${(totalMicros / 1000).toFixed(0)} ms\n`);
for (const [frame, micros] of top) {
  process.stdout.write(`${((micros / totalMicros) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${frame}\n`);
}
