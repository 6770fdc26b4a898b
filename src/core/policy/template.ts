import type { TemplateIdentity } from './types.js';

/**
 * Identity templates in policy paths, such as `secret/data/{{identity.entity.id}}/*`. The forms
 * follow Vault's documented template parameters: the entity's id, name and metadata, its aliases
 * by mount accessor, and its groups by id or by name.
 */

const TEMPLATE_MARKER = /\{\{([^{}]*)\}\}/g;

/** A parsed `{{...}}` expression: a function that reads its value from an identity. */
type TemplateReader = (identity: TemplateIdentity) => string | undefined;

/** True when the path contains a template marker. */
export function hasTemplate(path: string): boolean {
  return path.includes('{{') || path.includes('}}');
}

/**
 * Checks every template in a path. Returns a message that describes the first invalid template,
 * or null when all of them are valid.
 */
export function validateTemplates(path: string): string | null {
  const stripped = path.replace(TEMPLATE_MARKER, '');
  if (stripped.includes('{{') || stripped.includes('}}')) {
    return 'unbalanced "{{" or "}}" in path template';
  }
  for (const match of path.matchAll(TEMPLATE_MARKER)) {
    if (compileExpression(match[1].trim()) === null) {
      return `unknown template "{{${match[1].slice(0, 80)}}}"; use identity.entity.id, identity.entity.name, identity.entity.metadata.KEY, identity.entity.aliases.ACCESSOR.(id|name|metadata.KEY|custom_metadata.KEY), identity.groups.ids.ID.(name|metadata.KEY) or identity.groups.names.NAME.(id|metadata.KEY)`;
    }
  }
  return null;
}

/**
 * Fills every template in a path from an identity. Returns null when a value is missing or empty,
 * or contains `*`, `+`, `{` or `}`, because a filled value must never widen the pattern into a
 * glob; Vault denies such paths too.
 */
export function renderTemplatedPath(path: string, identity: TemplateIdentity | undefined): string | null {
  if (identity === undefined) return null;
  let failed = false;
  const rendered = path.replace(TEMPLATE_MARKER, (_marker, expression: string) => {
    const read = compileExpression(expression.trim());
    const value = read?.(identity);
    if (value === undefined || value === '' || /[*+{}]/.test(value)) {
      failed = true;
      return '';
    }
    return value;
  });
  return failed ? null : rendered;
}

function compileExpression(expression: string): TemplateReader | null {
  const parts = expression.split('.');
  if (parts[0] !== 'identity' || parts.some((part) => part === '')) return null;

  if (parts[1] === 'entity') return compileEntityExpression(parts.slice(2));
  if (parts[1] === 'groups') return compileGroupExpression(parts.slice(2));
  return null;
}

function compileEntityExpression(parts: string[]): TemplateReader | null {
  if (parts.length === 1 && parts[0] === 'id') return (identity) => identity.entityId;
  if (parts.length === 1 && parts[0] === 'name') return (identity) => identity.entityName;
  if (parts.length === 2 && parts[0] === 'metadata') {
    const key = parts[1];
    return (identity) => ownValue(identity.entityMetadata, key);
  }
  if (parts[0] !== 'aliases' || parts.length < 3) return null;

  const accessor = parts[1];
  const field = parts.slice(2);
  const findAlias = (identity: TemplateIdentity) =>
    identity.aliases?.find((alias) => alias.mountAccessor === accessor);
  if (field.length === 1 && field[0] === 'id') return (identity) => findAlias(identity)?.id;
  if (field.length === 1 && field[0] === 'name') return (identity) => findAlias(identity)?.name;
  if (field.length === 2 && field[0] === 'metadata') {
    return (identity) => ownValue(findAlias(identity)?.metadata, field[1]);
  }
  if (field.length === 2 && field[0] === 'custom_metadata') {
    return (identity) => ownValue(findAlias(identity)?.customMetadata, field[1]);
  }
  return null;
}

function compileGroupExpression(parts: string[]): TemplateReader | null {
  if (parts.length < 3 || (parts[0] !== 'ids' && parts[0] !== 'names')) return null;

  const byId = parts[0] === 'ids';
  const key = parts[1];
  const field = parts.slice(2);
  const findGroup = (identity: TemplateIdentity) =>
    identity.groups?.find((group) => (byId ? group.id : group.name) === key);
  if (field.length === 1 && field[0] === (byId ? 'name' : 'id')) {
    return (identity) => {
      const group = findGroup(identity);
      return byId ? group?.name : group?.id;
    };
  }
  if (field.length === 2 && field[0] === 'metadata') {
    return (identity) => ownValue(findGroup(identity)?.metadata, field[1]);
  }
  return null;
}

/** Reads an own property only, so a key such as `constructor` never reaches the prototype. */
function ownValue(map: Record<string, string> | undefined, key: string): string | undefined {
  if (map === undefined || !Object.prototype.hasOwnProperty.call(map, key)) return undefined;
  const value = map[key];
  return typeof value === 'string' ? value : undefined;
}
