import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.js';
import { api, spawnServer } from './helpers/server.js';

/** A pino destination that keeps every line written to it. */
function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

describe('logging', () => {
  it('redacts secret fields', async () => {
    const { stream, lines } = capture();
    const logger = createLogger('info', stream);
    logger.info({ token: 'tok-1', password: 'pw-1', headers: { 'x-vault-token': 'tok-2', authorization: 'Bearer tok-3' }, request: { client_token: 'tok-4' } }, 'probe');
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('\n');
    for (const secret of ['tok-1', 'pw-1', 'tok-2', 'tok-3', 'tok-4']) assert.ok(!text.includes(secret), `${secret} reached the log`);
    assert.match(text, /\[redacted\]/);
  });

  it('keeps tokens and secrets out of a trace-level server log', async () => {
    const server = await spawnServer(['server', '-dev', '-dev-root-token-id=root-token-secret-value', '-dev-listen-address=127.0.0.1:0', '-log-level=trace']);
    try {
      const token = 'root-token-secret-value';
      await api(server.url, 'POST', 'secret/data/app', { token, body: { data: { password: 'kv-secret-value' } } });
      await api(server.url, 'GET', 'secret/data/app', { token });
      await api(server.url, 'POST', 'secret/data/app', { token, body: { data: 'not-an-object-secret' } });
      await api(server.url, 'GET', 'secret/data/app', { token: 'wrong-token-secret-value' });
      await api(server.url, 'PUT', 'sys/policies/acl/bad', { token, body: { policy: 'path "x" { capabilities = ["nope-secret-value"] ' } });
    } finally {
      await server.stop();
    }
    // The dev banner prints the root token on purpose; the log lines are what is checked.
    const logLines = server.output().split('\n').filter((line) => line.startsWith('{'));
    assert.ok(logLines.length > 0, 'the server wrote no log lines');
    const log = logLines.join('\n');
    for (const secret of ['root-token-secret-value', 'kv-secret-value', 'wrong-token-secret-value']) {
      assert.ok(!log.includes(secret), `${secret} reached the server log`);
    }
  });
});
