import { x509 } from './x509.js';
import { BadRequestError } from '../../errors.js';
import type { HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { ISSUER_USAGES, requireIssuer, type LeafNotAfterBehavior, type PkiStore, type StoredIssuer, type UrlConfig } from './store.js';

const BEHAVIORS = new Set<LeafNotAfterBehavior>(['err', 'truncate', 'permit']);

function issuerData(issuer: StoredIssuer): Record<string, unknown> {
  return {
    issuer_id: issuer.id,
    issuer_name: issuer.name,
    key_id: issuer.keyId,
    certificate: issuer.certificate.trim() + '\n',
    ca_chain: [issuer.certificate, ...issuer.caChain].map((pem) => pem.trim() + '\n'),
    serial_number: issuer.serial,
    leaf_not_after_behavior: issuer.leafNotAfterBehavior,
    usage: issuer.usage.join(','),
    manual_chain: null,
  };
}

/** Builds the paths that list and manage issuers and keys, and set defaults and URLs. */
export function issuerPaths(store: PkiStore): PathSpec[] {
  return [
    {
      pattern: 'issuers/?',
      operations: { list: () => listIssuers(store) },
      help: 'Lists issuers by id, with their names in key_info.',
    },
    {
      pattern: 'issuer/(?<ref>[^/]+)(?<encoding>/pem|/der|/json)?',
      fields: {
        issuer_name: { type: 'string', description: 'New name of the issuer.' },
        leaf_not_after_behavior: { type: 'string', description: 'err, truncate or permit: what issuance does with a TTL beyond the issuer NotAfter.' },
        usage: { type: 'comma-string-list', description: 'Allowed usages: read-only, issuing-certificates, crl-signing, ocsp-signing.' },
      },
      operations: {
        read: (ctx) => readIssuer(store, ctx),
        update: (ctx) => updateIssuer(store, ctx),
        delete: (ctx) => deleteIssuer(store, ctx),
      },
      help: 'Reads, updates and deletes an issuer; /pem and /der return its certificate.',
    },
    {
      pattern: 'keys/?',
      operations: {
        list: async () => {
          const keys = await store.listKeys();
          return { data: { keys: keys.map((key) => key.id), key_info: Object.fromEntries(keys.map((key) => [key.id, { key_name: key.name }])) } };
        },
      },
      help: 'Lists keys by id, with their names in key_info.',
    },
    {
      pattern: 'key/(?<ref>[^/]+)',
      fields: { key_name: { type: 'string', description: 'New name of the key.' } },
      operations: {
        read: async (ctx) => {
          const key = await store.resolveKey(ctx.params.ref).catch(() => null);
          return key ? { data: { key_id: key.id, key_name: key.name, key_type: key.type, key_bits: key.bits } } : null;
        },
        update: async (ctx) => {
          const key = await store.resolveKey(ctx.params.ref);
          if (typeof ctx.fields.key_name === 'string') {
            await store.checkNameFree('key', ctx.fields.key_name, key.id);
            key.name = ctx.fields.key_name;
          }
          await store.putKey(key);
          return { data: { key_id: key.id, key_name: key.name, key_type: key.type } };
        },
        delete: async (ctx) => {
          const key = await store.resolveKey(ctx.params.ref);
          const users = (await store.listIssuers()).filter((issuer) => issuer.keyId === key.id);
          if (users.length > 0) throw new BadRequestError(`key "${key.name || key.id}" is used by issuer ${users[0]!.id}; delete the issuer first`);
          await store.deleteKey(key.id);
          const defaults = await store.defaults();
          if (defaults.defaultKey === key.id) await store.putDefaults({ ...defaults, defaultKey: '' });
          return null;
        },
      },
      help: 'Reads, renames and deletes a key. Private keys are never returned.',
    },
    {
      pattern: 'config/issuers',
      fields: {
        default: { type: 'string', description: 'Issuer id or name to use when a request names none.' },
        default_follows_latest_issuer: { type: 'bool', description: 'Makes each new issuer the default.' },
      },
      operations: {
        read: async () => {
          const defaults = await store.defaults();
          return { data: { default: defaults.defaultIssuer, default_follows_latest_issuer: defaults.defaultFollowsLatestIssuer } };
        },
        update: async (ctx) => {
          const defaults = await store.defaults();
          if (typeof ctx.fields.default === 'string' && ctx.fields.default !== '') {
            defaults.defaultIssuer = (await store.resolveIssuer(ctx.fields.default)).id;
          }
          if (typeof ctx.fields.default_follows_latest_issuer === 'boolean') {
            defaults.defaultFollowsLatestIssuer = ctx.fields.default_follows_latest_issuer;
          }
          await store.putDefaults(defaults);
          return { data: { default: defaults.defaultIssuer, default_follows_latest_issuer: defaults.defaultFollowsLatestIssuer } };
        },
      },
      help: 'Reads and sets the default issuer.',
    },
    {
      pattern: 'config/keys',
      fields: { default: { type: 'string', description: 'Key id or name to use when a request names none.' } },
      operations: {
        read: async () => ({ data: { default: (await store.defaults()).defaultKey } }),
        update: async (ctx) => {
          const defaults = await store.defaults();
          if (typeof ctx.fields.default === 'string' && ctx.fields.default !== '') defaults.defaultKey = (await store.resolveKey(ctx.fields.default)).id;
          await store.putDefaults(defaults);
          return { data: { default: defaults.defaultKey } };
        },
      },
      help: 'Reads and sets the default key.',
    },
    {
      pattern: 'config/urls',
      fields: {
        issuing_certificates: { type: 'comma-string-list', description: 'URLs of the issuing CA certificate, written into the AIA extension.' },
        crl_distribution_points: { type: 'comma-string-list', description: 'CRL URLs, written into the CRL distribution points extension.' },
        ocsp_servers: { type: 'comma-string-list', description: 'OCSP responder URLs, written into the AIA extension.' },
      },
      operations: {
        read: async () => ({ data: { ...(await store.urls()), enable_templating: false } }),
        update: async (ctx) => {
          const urls: UrlConfig = { ...(await store.urls()) };
          for (const name of ['issuing_certificates', 'crl_distribution_points', 'ocsp_servers'] as const) {
            const values = ctx.fields[name] as string[] | undefined;
            if (!values) continue;
            for (const value of values) {
              if (!URL.canParse(value)) throw new BadRequestError(`invalid URL "${value.slice(0, 200)}" in ${name}`);
            }
            urls[name] = values;
          }
          await store.putUrls(urls);
          return null;
        },
      },
      help: 'Reads and sets the URLs embedded in issued certificates.',
    },
  ];
}

async function listIssuers(store: PkiStore): Promise<LogicalResponse> {
  const issuers = await store.listIssuers();
  const defaults = await store.defaults();
  const keyInfo = Object.fromEntries(
    issuers.map((issuer) => [issuer.id, { issuer_name: issuer.name, is_default: issuer.id === defaults.defaultIssuer, key_id: issuer.keyId, serial_number: issuer.serial }]),
  );
  return { data: { keys: issuers.map((issuer) => issuer.id), key_info: keyInfo } };
}

async function readIssuer(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const issuer = await requireIssuer(store, ctx.params.ref!);
  if (ctx.params.encoding === '/pem') {
    return { rawBytes: { status: 200, contentType: 'application/pem-certificate-chain', body: Buffer.from(issuer.certificate.trim() + '\n') } };
  }
  if (ctx.params.encoding === '/der') {
    return { rawBytes: { status: 200, contentType: 'application/pkix-cert', body: Buffer.from(new x509.X509Certificate(issuer.certificate).rawData) } };
  }
  return { data: issuerData(issuer) };
}

async function updateIssuer(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse> {
  if (ctx.params.encoding) throw new BadRequestError('issuer certificates are read-only; update issuer/REF instead');
  const issuer = await requireIssuer(store, ctx.params.ref!);
  const fields = ctx.fields;
  if (typeof fields.issuer_name === 'string') {
    await store.checkNameFree('issuer', fields.issuer_name, issuer.id);
    issuer.name = fields.issuer_name;
  }
  if (typeof fields.leaf_not_after_behavior === 'string') {
    const behavior = fields.leaf_not_after_behavior as LeafNotAfterBehavior;
    if (!BEHAVIORS.has(behavior)) throw new BadRequestError(`invalid leaf_not_after_behavior "${behavior.slice(0, 40)}": use err, truncate or permit`);
    issuer.leafNotAfterBehavior = behavior;
  }
  if (Array.isArray(fields.usage)) {
    const usage = (fields.usage as string[]).map((entry) => entry.trim()).filter((entry) => entry !== '');
    for (const entry of usage) {
      if (!(ISSUER_USAGES as readonly string[]).includes(entry)) {
        throw new BadRequestError(`invalid usage "${entry.slice(0, 40)}": use ${ISSUER_USAGES.join(', ')}`);
      }
    }
    issuer.usage = usage;
  }
  await store.putIssuer(issuer);
  return { data: issuerData(issuer) };
}

async function deleteIssuer(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const issuer = await store.resolveIssuer(ctx.params.ref).catch(() => null);
  if (!issuer) return null;
  await store.deleteIssuer(issuer.id);
  const defaults = await store.defaults();
  if (defaults.defaultIssuer === issuer.id) {
    await store.putDefaults({ ...defaults, defaultIssuer: '' });
    return { warnings: [`issuer ${issuer.id} was the default issuer; set a new one with config/issuers`] };
  }
  return null;
}
