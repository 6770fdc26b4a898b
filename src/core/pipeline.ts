import { BadRequestError, CofferError, NotFoundError, PermissionDeniedError, SealedError } from '../errors.js';
import type { LogicalRequest, LogicalResponse, Operation, RequestAuth } from '../framework/types.js';
import type { Answer, ResponseEnvelope } from './answer.js';
import type { AuditAuth } from './audit/broker.js';
import type { Core, Route } from './core.js';
import { SEALED_PATHS } from './sys/backend.js';
import type { TokenEntry } from './token/store.js';
import { checkBoundCidrs, createLoginToken } from './login.js';
import { checkWrappingTtl } from './policy/acl.js';

/** The authenticated caller, carried from authentication to the audit log. */
interface Caller {
  token: TokenEntry;
  /** The token as presented; the audit broker HMACs it before writing. */
  clientToken: string;
  auth: RequestAuth;
  /** True when this request used the last of a use-limited token's uses. */
  lastUse: boolean;
}

/**
 * Runs one request through Coffer: sealed check, routing, authentication, authorization, request
 * audit, the backend's handler, response audit, and the envelope. Every step is one call.
 */
export async function handleRequest(core: Core, req: LogicalRequest): Promise<Answer> {
  let caller: Caller | undefined;
  let requestAudited = false;
  try {
    checkSealed(core, req);

    const route = core.route(req.path);
    annotate(req, route);
    const unauthenticated = route !== null && matchesAny(route.router.backend.unauthenticatedPaths, route.relativePath);
    if (!unauthenticated) caller = await authenticate(core, req);

    const routed = route?.router.match(req, route.relativePath) ?? null;
    const operation = route && routed && req.operation === 'update' ? await route.router.resolveWrite(routed) : req.operation;
    if (caller) await authorize(core, req, route, operation, caller);

    await core.audit.logRequest({ req, auth: auditAuth(caller) });
    requestAudited = true;

    if (!route || !routed) throw new NotFoundError(`no handler for route "${req.path}": route entry not found`);
    route.router.validate(routed);
    const response = await route.router.handle(routed, operation);

    if (response?.auth) Object.assign(response, await loginResponse(core, req, route, response));
    if (response?.secret) Object.assign(response, await leaseResponse(core, req, route, response, caller));
    let answer = buildAnswer(req, route, operation, response);
    if (req.wrapTtl !== undefined && answer.status === 200 && isEnvelope(answer.body) && !NEVER_WRAPPED.has(req.path)) {
      answer = { status: 200, body: await core.wrapper.wrap(answer.body, req.wrapTtl, req.path) };
    }
    // Raw bytes (certificates, CRLs, OCSP responses) carry no envelope to audit.
    const auditedBody = Buffer.isBuffer(answer.body) ? undefined : (answer.body as ResponseEnvelope | undefined);
    await core.audit.logResponse({ req, auth: auditAuth(caller), response: auditedBody, status: answer.status });
    if (caller?.lastUse) await core.tokens.revokeTree(caller.token);
    if (core.logger.isLevelEnabled('debug')) {
      core.logger.debug({ request_id: req.id, path: req.path, op: operation, status: answer.status, mount: req.mountPoint }, 'request handled');
    }
    return answer;
  } catch (err) {
    await auditFailure(core, req, caller, requestAudited, err);
    throw err;
  }
}

function checkSealed(core: Core, req: LogicalRequest): void {
  if (!core.sealed) return;
  const path = req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
  if (!SEALED_PATHS.has(path)) throw new SealedError();
}

function annotate(req: LogicalRequest, route: Route | null): void {
  if (!route) return;
  req.mountPoint = route.mountPoint;
  req.mountRelativePath = route.relativePath;
  req.mountType = route.entry.type;
  req.mountAccessor = route.entry.accessor;
}

/** Checks the client token; throws 403 when it is missing, unknown or expired. */
async function authenticate(core: Core, req: LogicalRequest): Promise<Caller> {
  if (!req.clientToken) throw new PermissionDeniedError('permission denied: missing client token; set X-Vault-Token');
  const token = await core.tokens.lookup(req.clientToken);
  if (!token) throw new PermissionDeniedError('permission denied: invalid token');
  checkBoundCidrs(token, req.remoteAddress);
  const lastUse = await core.tokens.use(token);
  const auth: RequestAuth = {
    tokenId: token.id,
    accessor: token.accessor,
    policies: token.policies,
    displayName: token.displayName,
    metadata: token.meta,
    entityId: token.entityId,
    root: token.policies.includes('root'),
    sudo: false,
    tokenType: token.type,
  };
  req.auth = auth;
  return { token, clientToken: req.clientToken, auth, lastUse };
}

/** Creates the token of a successful login and puts its auth block and warnings on the response. */
async function loginResponse(core: Core, req: LogicalRequest, route: Route, response: LogicalResponse): Promise<Partial<LogicalResponse>> {
  const created = await createLoginToken(core, req, route, response.auth!);
  return { authBlock: created.authBlock, warnings: [...(response.warnings ?? []), ...created.warnings] };
}

/** Registers the lease of a secret before the response leaves, and puts its id on the response. */
async function leaseResponse(core: Core, req: LogicalRequest, route: Route, response: LogicalResponse, caller: Caller | undefined): Promise<Partial<LogicalResponse>> {
  const grant = await core.expiration.register({
    requestPath: req.path,
    mountPoint: route.mountPoint,
    secret: response.secret!,
    tokenId: caller?.token.type === 'service' ? caller.token.id : '',
    system: route.router.context.system,
  });
  return {
    lease: { id: grant.leaseId, duration: grant.ttl, renewable: grant.renewable },
    warnings: [...(response.warnings ?? []), ...grant.warnings],
  };
}

/** Checks the ACL for the operation, and sudo on root-protected paths. */
async function authorize(core: Core, req: LogicalRequest, route: Route | null, operation: Operation, caller: Caller): Promise<void> {
  // NOTE: identity entities do not exist yet, so templated policy paths match nothing.
  const acl = await core.policies.acl(caller.auth.policies);
  const result = acl.check(req.path, operation, req.data);
  if (!result.allowed) throw new PermissionDeniedError(`permission denied: ${operation} on "${req.path}" is not allowed by the token's policies`);
  const wrappingProblem = checkWrappingTtl(result, req.wrapTtl);
  if (wrappingProblem) throw new BadRequestError(wrappingProblem);
  caller.auth.sudo = result.sudo;
  if (route && matchesAny(route.router.backend.rootPaths, route.relativePath) && !result.sudo) {
    throw new PermissionDeniedError(`permission denied: "${req.path}" requires the sudo capability`);
  }
}

/**
 * Matches a mount-relative path against patterns that are exact, end in a `*` prefix glob, or
 * hold `+` segments that match any one segment (`issuer/+/pem`).
 */
export function matchesAny(patterns: string[] | undefined, path: string): boolean {
  if (!patterns) return false;
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  return patterns.some((pattern) => {
    if (pattern.includes('+')) return matchesSegments(pattern, trimmed);
    return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : pattern === trimmed;
  });
}

function matchesSegments(pattern: string, path: string): boolean {
  const prefixGlob = pattern.endsWith('*');
  const patternSegments = (prefixGlob ? pattern.slice(0, -1) : pattern).split('/');
  const actual = path.split('/');
  if (prefixGlob ? actual.length < patternSegments.length : actual.length !== patternSegments.length) return false;
  return patternSegments.every((segment, i) => {
    if (segment === '+') return actual[i] !== '';
    if (prefixGlob && i === patternSegments.length - 1) return actual[i].startsWith(segment);
    return segment === actual[i];
  });
}

/** Turns a backend's response into the status and body the HTTP layer writes. */
function buildAnswer(req: LogicalRequest, route: Route, operation: Operation, response: LogicalResponse | null): Answer {
  if (response?.raw) return { status: response.raw.status, body: response.raw.body };
  if (response?.rawBytes) {
    const { status, contentType, body } = response.rawBytes;
    return { status, body, headers: { 'Content-Type': contentType } };
  }

  const emptyList = operation === 'list' && !hasKeys(response?.data);
  const notFound = response?.status === 404 && !response.data && !response.warnings?.length;
  if ((operation === 'read' && !response) || (emptyList && !response?.warnings?.length) || notFound) {
    return { status: 404, body: { errors: [] } };
  }
  if (!response || (!response.data && !response.authBlock && !response.lease && !response.warnings?.length && response.status === undefined)) {
    return { status: 204, body: null };
  }

  const envelope: ResponseEnvelope = {
    request_id: req.id,
    lease_id: response.lease?.id ?? '',
    renewable: response.lease?.renewable ?? false,
    lease_duration: response.lease?.duration ?? 0,
    data: response.data ?? null,
    wrap_info: null,
    warnings: response.warnings?.length ? response.warnings : null,
    auth: response.authBlock ?? null,
    mount_type: route.entry.type,
  };
  if (response.mirrorDataAtTopLevel && response.data) {
    for (const [key, value] of Object.entries(response.data)) {
      if (!(key in envelope)) envelope[key] = value;
    }
  }
  return { status: response.status ?? 200, body: envelope };
}

/** Paths whose responses are never wrapped again, because they read or replace wrapping tokens. */
const NEVER_WRAPPED = new Set(['sys/wrapping/lookup', 'sys/wrapping/unwrap', 'sys/wrapping/rewrap']);

function isEnvelope(body: unknown): body is ResponseEnvelope {
  return typeof body === 'object' && body !== null && 'request_id' in body && 'wrap_info' in body;
}

function hasKeys(data: Record<string, unknown> | null | undefined): boolean {
  const keys = data?.keys;
  return Array.isArray(keys) && keys.length > 0;
}

function auditAuth(caller: Caller | undefined): AuditAuth | undefined {
  if (!caller) return undefined;
  return {
    client_token: caller.clientToken,
    accessor: caller.token.accessor,
    display_name: caller.token.displayName,
    policies: caller.token.policies,
    token_policies: caller.token.policies,
    metadata: caller.token.meta,
    entity_id: caller.token.entityId,
    token_type: caller.token.type,
    token_ttl: caller.token.creationTtl,
  };
}

/**
 * Records a failed request in the audit log. An audit failure here is logged and swallowed,
 * because the request already fails; a failure of the request audit itself fails closed below.
 */
async function auditFailure(core: Core, req: LogicalRequest, caller: Caller | undefined, requestAudited: boolean, err: unknown): Promise<void> {
  if (err instanceof SealedError || core.sealed) return;
  const message = err instanceof CofferError && err.status < 500 ? err.message : 'internal error';
  const status = err instanceof CofferError ? err.status : 500;
  try {
    if (!requestAudited) await core.audit.logRequest({ req, auth: auditAuth(caller), error: message });
    await core.audit.logResponse({ req, auth: auditAuth(caller), status, error: message });
  } catch (auditErr) {
    core.logger.error({ request_id: req.id, err: auditErr }, 'audit of a failed request failed');
  }
}
