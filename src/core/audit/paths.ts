import { BadRequestError } from '../../errors.js';
import type { PathSpec } from '../../framework/types.js';
import type { AuditBroker } from './broker.js';

/**
 * Declares the `sys/audit`, `sys/audit/PATH` and `sys/audit-hash/PATH` endpoints, with patterns
 * relative to the `sys/` mount. Vault requires `sudo` on `audit` and `audit/*`; the system backend lists them
 * among its root paths.
 */
export function auditPaths(broker: AuditBroker): PathSpec[] {
  return [
    {
      pattern: 'audit',
      operations: {
        read: async () => {
          const data: Record<string, unknown> = {};
          for (const device of broker.list()) data[device.path] = device;
          return { data, mirrorDataAtTopLevel: true };
        },
      },
      help: 'Lists the enabled audit devices.',
    },
    {
      pattern: 'audit/(?<path>.+)',
      fields: {
        type: { type: 'string', description: 'Type of the audit device: file or socket.' },
        description: { type: 'string', description: 'Human-friendly description of the device.', default: '' },
        options: { type: 'map', description: 'Options of the device, such as file_path for the file type.' },
        local: { type: 'bool', description: 'Marks the device as local to this cluster.', default: false },
      },
      operations: {
        update: async ({ fields, params }) => {
          const type = fields.type as string | undefined;
          if (!type) throw new BadRequestError('missing required field "type"');
          await broker.enable(params.path!, {
            type,
            description: fields.description as string,
            options: stringOptions(fields.options as Record<string, unknown> | undefined),
            local: fields.local as boolean,
          });
          return null;
        },
        delete: async ({ params }) => {
          await broker.disable(params.path!);
          return null;
        },
      },
      help: 'Enables (POST or PUT) or disables (DELETE) the audit device at the path.',
    },
    {
      pattern: 'audit-hash/(?<path>.+)',
      fields: {
        input: { type: 'string', description: 'The string to hash with the device salt.', required: true },
      },
      operations: {
        update: async ({ fields, params }) => ({ data: { hash: broker.hash(params.path!, fields.input as string) } }),
      },
      help: 'Returns the HMAC of the input with the salt of the audit device at the path.',
    },
  ];
}

/**
 * Converts option values to strings as Vault's map of strings does, so `{"log_raw": true}` from a
 * client becomes `"true"`. Objects and arrays are rejected.
 */
function stringOptions(options: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(options ?? {})) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
    else throw new BadRequestError(`invalid value for option "${name}": expected a string`);
  }
  return out;
}
