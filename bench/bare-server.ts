// The baseline the benchmark compares Coffer with: a bare `node:http` server in its own process.
// Usage: node --import tsx bench/bare-server.ts PORT
//
// Every path reads the request body and returns a small JSON hello-world, except `/keygen-sign`.
// That path does the cryptographic minimum of issuing an EC P-256 leaf certificate: it generates
// a P-256 key pair and signs the leaf's public key with a P-256 CA key (ECDSA with SHA-256).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { generateKeyPairSync, sign } from 'node:crypto';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`invalid port ${JSON.stringify(process.argv[2])}: pass a TCP port number\n`);
  process.exit(2);
}

const HELLO = JSON.stringify({ hello: 'world' });
const caKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

function issueLeaf(): string {
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicKeyDer = leaf.publicKey.export({ type: 'spki', format: 'der' });
  const signature = sign('sha256', publicKeyDer, caKey);
  const privateKeyPem = leaf.privateKey.export({ type: 'pkcs8', format: 'pem' });
  return JSON.stringify({ private_key: privateKeyPem, signature: signature.toString('base64') });
}

function respond(req: IncomingMessage, res: ServerResponse): void {
  const body = req.url === '/keygen-sign' ? issueLeaf() : HELLO;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  // Read the whole body first, as a real server does, so request size costs the same on both sides.
  req.on('data', () => {});
  req.on('end', () => respond(req, res));
});

// Port 0 lets the kernel pick a free port; the harness reads the chosen one from this line.
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
