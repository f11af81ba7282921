import { z } from 'zod';
import { PROPERTY_NAME_PATTERN } from './arg-schema.js';

/**
 * A path into the args, as `pii` entries and risk conditions name them: field names joined by `.`,
 * with `*` for "every item" of an array (`customer.email`, `items.*.amount`). The same shape the
 * redaction library takes, without its leading `args.`.
 */
export const ArgPath = z
  .string()
  .max(256)
  .refine((path) => parseArgPath(path) !== undefined, {
    error:
      'must be field names joined by "." with "*" for every item of a list, e.g. customer.email or items.*.amount',
  });

/** The segments of a well-formed arg path, or `undefined`. */
export function parseArgPath(path: string): readonly string[] | undefined {
  const segments = path.split('.');
  return segments.every((s) => s === '*' || PROPERTY_NAME_PATTERN.test(s)) ? segments : undefined;
}

/**
 * The schema node a path names, or why the path names nothing declared. It reads the schema
 * defensively (as `unknown`), so paths are checked even in a declaration whose schema has errors
 * elsewhere; the node it returns is only as valid as the schema it came from.
 */
export function resolveSchemaPath(
  root: unknown,
  path: string,
): { readonly node: unknown; readonly type: string | undefined } | { readonly error: string } {
  const segments = parseArgPath(path);
  if (segments === undefined) return { error: `"${path}" is not a valid arg path` };
  let node: unknown = root;
  for (const [index, segment] of segments.entries()) {
    const where = index === 0 ? 'the args' : `"${segments.slice(0, index).join('.')}"`;
    const type = typeOfNode(node);
    if (type === 'array') {
      if (segment !== '*') return { error: `${where} is a list: step into its items with "*"` };
      node = ownField(node, 'items');
    } else if (type === 'object') {
      const properties = ownField(node, 'properties');
      node = ownField(properties, segment);
      if (node === undefined) return { error: `${where} declares no field "${segment}"` };
    } else {
      return {
        error: `${where} is ${type === undefined ? 'not a valid schema' : `a ${type}`}: there is nothing below it`,
      };
    }
  }
  return { node, type: typeOfNode(node) };
}

function typeOfNode(node: unknown): string | undefined {
  const type = ownField(node, 'type');
  return typeof type === 'string' ? type : undefined;
}

function ownField(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
  return (value as Record<string, unknown>)[key];
}

/**
 * Every value a path reaches in `args` (several through `*`), skipping what is absent. Total: any
 * input gives a list, property reads are own-property only, and the walk is bounded by `limit`.
 */
export function collectArgValues(
  args: unknown,
  segments: readonly string[],
  limit = 10_000,
): unknown[] {
  let current: unknown[] = [args];
  for (const segment of segments) {
    const next: unknown[] = [];
    for (const value of current) {
      if (segment === '*') {
        if (Array.isArray(value)) {
          for (const item of value as readonly unknown[]) {
            if (next.length >= limit) break;
            next.push(item);
          }
        }
      } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        if (Object.hasOwn(value, segment)) next.push((value as Record<string, unknown>)[segment]);
      }
    }
    current = next;
  }
  return current.filter((value) => value !== undefined);
}
