import { createPublicKey } from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import { isPlainObject } from '../../framework/fields.js';
import type { HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { decodeBase64 } from './ciphertext.js';
import { KEY_NAME, type TransitEngine } from './engine.js';
import { KEY_TYPES } from './key-types.js';
import type { StoredPolicy, TransitKey } from './policy.js';

/** Version of the backup format; a restore rejects other versions. */
const BACKUP_FORMAT_VERSION = 1;

type ExportType = 'encryption-key' | 'signing-key' | 'hmac-key' | 'public-key';

/** Paths `export/TYPE/NAME[/VERSION]`, `backup/NAME` and `restore[/NAME]`. */
export function exportPaths(engine: TransitEngine): PathSpec[] {
  return [
    {
      pattern: `export/(?<export_type>encryption-key|signing-key|hmac-key|public-key)/${KEY_NAME}(?:/(?<version>latest|\\d+))?`,
      operations: { read: (ctx) => exportKey(engine, ctx) },
      help: 'Returns key material by version; private material requires exportable.',
    },
    {
      pattern: `backup/${KEY_NAME}`,
      operations: { read: (ctx) => backupKey(engine, ctx) },
      help: 'Returns a plaintext backup of the key with every version; requires exportable and allow_plaintext_backup.',
    },
    {
      pattern: `restore(?:/${KEY_NAME})?`,
      fields: {
        backup: { type: 'string', description: 'Output of backup/NAME.', required: true },
        force: { type: 'bool', description: 'Replace a key of the same name.', default: false },
      },
      operations: { update: (ctx) => restoreKey(engine, ctx) },
      help: 'Restores a backup, under the name in the URL or the name in the backup.',
    },
  ];
}

async function exportKey(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const exportType = ctx.params.export_type as ExportType;
  const key = await engine.store.load(ctx.params.name);
  if (!key) return null;
  if (exportType !== 'public-key' && !key.policy.exportable) {
    throw new BadRequestError(`key "${key.name}" is not exportable; set exportable with keys/${key.name}/config`);
  }
  checkExportType(key, exportType);

  const requested = ctx.params.version;
  const versions = requested === undefined ? Object.keys(key.policy.versions).map(Number) : [exportVersion(key, requested)];
  const keys: Record<string, string> = {};
  for (const version of versions) keys[version] = exportMaterial(key, version, exportType);
  return { data: { name: key.name, type: key.policy.type, keys } };
}

function exportVersion(key: TransitKey, requested: string): number {
  const version = requested === 'latest' ? key.policy.latest_version : Number(requested);
  if (!key.policy.versions[version]) throw new BadRequestError(`invalid version ${requested}: key "${key.name}" has no such version`);
  if (version < key.policy.min_decryption_version) {
    throw new BadRequestError(`version ${version} is below min_decryption_version ${key.policy.min_decryption_version} and cannot be exported`);
  }
  return version;
}

function checkExportType(key: TransitKey, exportType: ExportType): void {
  const kind = key.spec.kind;
  const allowed =
    exportType === 'hmac-key' ||
    (exportType === 'encryption-key' && (kind === 'aead' || kind === 'rsa')) ||
    (exportType === 'signing-key' && (kind === 'ed25519' || kind === 'ecdsa' || kind === 'rsa')) ||
    (exportType === 'public-key' && (kind === 'ed25519' || kind === 'ecdsa' || kind === 'rsa'));
  if (!allowed) throw new BadRequestError(`export type ${exportType} does not apply to key type ${key.policy.type}`);
}

/**
 * Encodes one version for export in Vault's formats. Raw keys are base64, and an Ed25519 private
 * key is its seed followed by its public key (64 bytes). RSA private keys are PKCS#1 PEM, ECDSA
 * private keys SEC 1 PEM, and public keys SPKI PEM (base64 raw for Ed25519).
 */
function exportMaterial(key: TransitKey, version: number, exportType: ExportType): string {
  if (exportType === 'hmac-key') return key.hmacKey(version).toString('base64');
  const kind = key.spec.kind;
  if (kind === 'aead') return key.secretKey(version).toString('base64');

  if (exportType === 'public-key') {
    if (kind === 'ed25519') return rawEd25519Public(key, version).toString('base64');
    return key.publicKey(version).export({ format: 'pem', type: 'spki' }).toString();
  }
  if (kind === 'ed25519') return Buffer.concat([key.secretKey(version), rawEd25519Public(key, version)]).toString('base64');
  const privateKey = key.privateKey(version);
  if (kind === 'ecdsa') return privateKey.export({ format: 'pem', type: 'sec1' }).toString();
  return privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
}

function rawEd25519Public(key: TransitKey, version: number): Buffer {
  const x = createPublicKey(key.privateKey(version)).export({ format: 'jwk' }).x!;
  return Buffer.from(x, 'base64url');
}

async function backupKey(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const key = await engine.store.load(ctx.params.name);
  if (!key) return null;
  if (!key.policy.exportable) throw new BadRequestError(`key "${key.name}" is not exportable, so it cannot be backed up`);
  if (!key.policy.allow_plaintext_backup) {
    throw new BadRequestError(`key "${key.name}" does not allow plaintext backup; set allow_plaintext_backup with keys/${key.name}/config`);
  }
  const backup = { policy: key.policy, backup_info: { time: new Date().toISOString(), version: BACKUP_FORMAT_VERSION } };
  return { data: { backup: Buffer.from(JSON.stringify(backup), 'utf8').toString('base64') } };
}

async function restoreKey(engine: TransitEngine, ctx: HandlerContext): Promise<null> {
  const policy = parseBackup(ctx.fields.backup as string);
  const name = ctx.params.name ?? policy.name;
  if (!/^\w(?:[\w.-]*\w)?$/.test(name)) throw new BadRequestError('invalid backup: the key name is not a valid transit key name');
  policy.name = name;

  await engine.store.withLock(name, async () => {
    if (!ctx.fields.force && (await engine.store.readStored(name))) {
      throw new BadRequestError(`key "${name}" already exists; delete it first or restore with force`);
    }
    await engine.store.save(policy);
  });
  engine.logger.info({ key: name }, 'transit key restored from backup');
  return null;
}

/** Decodes and checks a backup; only the shape Coffer writes is accepted. */
function parseBackup(text: string): StoredPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeBase64(text, 'backup').toString('utf8'));
  } catch (err) {
    if (err instanceof BadRequestError) throw err;
    throw new BadRequestError('invalid backup: not a base64 JSON backup from backup/NAME');
  }
  const info = isPlainObject(parsed) ? parsed.backup_info : undefined;
  const policy = isPlainObject(parsed) ? parsed.policy : undefined;
  if (!isPlainObject(info) || info.version !== BACKUP_FORMAT_VERSION || !isPlainObject(policy)) {
    throw new BadRequestError('invalid backup: missing policy or backup_info of a supported version');
  }
  const candidate = policy as unknown as StoredPolicy;
  const validShape =
    typeof candidate.name === 'string' &&
    Object.hasOwn(KEY_TYPES, candidate.type) &&
    Number.isSafeInteger(candidate.latest_version) &&
    isPlainObject(candidate.versions) &&
    candidate.versions[candidate.latest_version] !== undefined;
  if (!validShape) throw new BadRequestError('invalid backup: the key policy is incomplete');
  return candidate;
}
