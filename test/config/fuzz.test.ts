// Mutates valid configs at random and checks that parseConfig always settles: it resolves to a
// config or rejects with a ConfigError, and never hangs or throws anything else.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/source.js';

const SEEDS: [string, string][] = [
  [
    'coffer.hcl',
    `storage "sqlite" {\n  path = "/tmp/coffer.db"\n}\n\nlistener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n  max_request_size = 1024\n}\n\ndefault_lease_ttl = "1h"\nmax_lease_ttl = "24h"\nlog_level = "info"\nui = false\n`,
  ],
  [
    'coffer.json',
    `{\n  "storage": {"inmem": {}},\n  "listener": [{"tcp": {"address": "[::1]:8200", "tls_disable": "1"}}],\n  "api_addr": "http://127.0.0.1:8200",\n  "default_lease_ttl": 60\n}\n`,
  ],
];

const INSERTS = ['{', '}', '[', ']', '"', '=', ':', ',', '\n', '$', '${', '\\', '#', '/*', '<<EOF\n', '0', '-1', 'true', 'é', '\u{1F600}', '\u0000', ' ', 'x'];

/** A small deterministic pseudo-random generator (mulberry32), so a failing case can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(text: string, random: () => number): string {
  const at = () => Math.floor(random() * (text.length + 1));
  const rounds = 1 + Math.floor(random() * 4);
  for (let round = 0; round < rounds; round++) {
    const choice = Math.floor(random() * 5);
    const start = at();
    if (choice === 0) {
      text = text.slice(0, start) + text.slice(start + 1 + Math.floor(random() * 8));
    } else if (choice === 1) {
      text = text.slice(0, start) + INSERTS[Math.floor(random() * INSERTS.length)] + text.slice(start);
    } else if (choice === 2) {
      const lines = text.split('\n');
      const line = Math.floor(random() * lines.length);
      lines.splice(line, 0, lines[line]);
      text = lines.join('\n');
    } else if (choice === 3) {
      text = text.slice(0, start);
    } else {
      const end = Math.min(text.length, start + Math.floor(random() * 20));
      text = text.slice(0, start) + text.slice(start, end).split('').reverse().join('') + text.slice(end);
    }
  }
  return text;
}

function withTimeout<T>(promise: Promise<T>, ms: number, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${description}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

it('parseConfig settles on mutated configs', async () => {
  const random = seededRandom(7);
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 600; i++) {
    const [file, seed] = SEEDS[i % SEEDS.length];
    const text = mutate(seed, random);
    const outcome = await withTimeout(
      parseConfig(text, file).then(
        (config) => ({ config }),
        (error: unknown) => ({ error }),
      ),
      10_000,
      JSON.stringify(text),
    );
    if ('config' in outcome) {
      accepted++;
      assert.ok(outcome.config.listeners.length >= 1);
      assert.ok(outcome.config.maxLeaseTtl >= outcome.config.defaultLeaseTtl);
    } else {
      rejected++;
      assert.ok(outcome.error instanceof ConfigError, `case ${i}: ${String(outcome.error)}\n${JSON.stringify(text)}`);
      assert.match(outcome.error.message, new RegExp(`^${file.replace('.', '\\.')}(:\\d+)?: `));
    }
  }
  // Both outcomes occur, so the mutations neither always break nor never touch the config.
  assert.ok(accepted > 0, 'no mutated config was accepted');
  assert.ok(rejected > 0, 'no mutated config was rejected');
});

it('parseConfig survives deep nesting', async () => {
  const nested: [string, string][] = [
    ['deep.hcl', `x = ${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['deep.hcl', `x = ${'{a='.repeat(20_000)}1${'}'.repeat(20_000)}`],
    ['deep.json', `{"x": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`],
  ];
  for (const [file, text] of nested) {
    await assert.rejects(withTimeout(parseConfig(text, file), 30_000, file), ConfigError);
  }

  // The parser still works after a failure deep in its recursion.
  const config = await parseConfig('storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n}\n', 'after.hcl');
  assert.deepEqual(config.storage, { type: 'inmem' });
});
