import { NotFoundError, UnsupportedOperationError } from '../errors.js';
import { validateFields } from './fields.js';
import type {
  Backend,
  BackendContext,
  HandlerContext,
  LogicalRequest,
  LogicalResponse,
  Operation,
  PathSpec,
} from './types.js';

interface CompiledPath {
  spec: PathSpec;
  regex: RegExp;
}

/** A located path: the spec, its captured parameters and a ready handler context. */
export interface RoutedPath {
  spec: PathSpec;
  ctx: HandlerContext;
  /** Request keys the path does not declare; they are ignored and named in a warning. */
  ignoredFields?: string[];
}

/**
 * Dispatches requests to a backend's declared paths: finds the first pattern that matches the
 * whole mount-relative path, validates fields, and calls the handler for the operation.
 */
export class BackendRouter {
  private readonly compiled: CompiledPath[];

  constructor(
    readonly backend: Backend,
    readonly context: BackendContext,
  ) {
    this.compiled = backend.paths.map((spec) => ({ spec, regex: new RegExp(`^(?:${spec.pattern})$`) }));
  }

  /**
   * Finds the path that matches the whole mount-relative path, or null. The context's `fields`
   * hold the raw request data until `validate` runs, so an existence check can run first.
   */
  match(req: LogicalRequest, relativePath: string): RoutedPath | null {
    for (const { spec, regex } of this.compiled) {
      const match = regex.exec(relativePath);
      if (!match) continue;

      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(match.groups ?? {})) {
        if (value !== undefined) params[name] = value;
      }
      return { spec, ctx: { req, fields: { ...req.data, ...params }, params, backend: this.context } };
    }
    return null;
  }

  /** Validates the request data against the path's fields, replacing the raw values. */
  validate(routed: RoutedPath): void {
    const { spec, ctx } = routed;
    const raw = { ...ctx.req.data };
    for (const name of Object.keys(ctx.params)) delete raw[name];
    const { values, ignored } = validateFields(spec.fields ?? {}, raw, spec.allowUnknownFields ?? false);
    Object.assign(values, ctx.params);
    ctx.fields = values;
    routed.ignoredFields = ignored;
  }

  /** Finds and validates the path for a request; throws 404 when no path matches. */
  route(req: LogicalRequest, relativePath: string): RoutedPath {
    const routed = this.match(req, relativePath);
    if (!routed) throw new NotFoundError(`unsupported path "${req.path}"; check the path and the mount`);
    this.validate(routed);
    return routed;
  }

  /** True when the path declares a handler for the operation (create falls back to update). */
  supports(spec: PathSpec, op: Operation): boolean {
    return handlerFor(spec, op) !== undefined;
  }

  /** Decides create versus update for a write with the path's existence check. */
  async resolveWrite(routed: RoutedPath): Promise<'create' | 'update'> {
    if (!routed.spec.existenceCheck) return 'update';
    return (await routed.spec.existenceCheck(routed.ctx)) ? 'update' : 'create';
  }

  /** Runs the handler; a write's response gains a warning that names any ignored body keys. */
  async handle(routed: RoutedPath, op: Operation): Promise<LogicalResponse | null> {
    const handler = handlerFor(routed.spec, op);
    if (!handler) throw new UnsupportedOperationError(`unsupported operation: ${op} on "${routed.ctx.req.path}"`);
    const response = await handler(routed.ctx);
    // Reads, lists and deletes take their data from query parameters, which are ignored quietly.
    const ignored = op === 'create' || op === 'update' || op === 'patch' ? (routed.ignoredFields ?? []) : [];
    if (ignored.length === 0 || response?.raw) return response;

    const warning = `ignored unrecognized parameters: ${ignored.join(', ')}`;
    if (!response) return { warnings: [warning] };
    return { ...response, warnings: [...(response.warnings ?? []), warning] };
  }
}

function handlerFor(spec: PathSpec, op: Operation) {
  if (op === 'create') return spec.operations.create ?? spec.operations.update;
  if (op === 'update') return spec.operations.update ?? spec.operations.create;
  return spec.operations[op];
}
