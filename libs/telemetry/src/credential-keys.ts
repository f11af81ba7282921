import { isSecretKey } from '@warden/redaction';

/**
 * What a log line must never carry: the values of fields named like a credential. Two layers keep
 * them out. Pino's `redact` paths (below) cover the shapes we know (a `credential` field, the
 * `Warden-Credential` header). The key-name scrub covers what nobody thought of: a token three
 * levels down in a tool's args, a `clientSecret` in some upstream's error body.
 */

/** The value written in place of a redacted field. */
export const REDACTED = '[REDACTED]';

/**
 * Redaction paths handed to pino for every Warden logger. Pino matches them by exact position
 * (`*.x` is one level under any key), so the common shapes are listed at the top level and one
 * level down; the scrub in {@link scrubCredentials} catches deeper nesting.
 */
export const REDACT_PATHS: readonly string[] = [
  'credential',
  'credentials',
  'token',
  'authorization',
  'password',
  'secret',
  'cookie',
  'api_key',
  'headers["warden-credential"]',
  'headers["Warden-Credential"]',
  'headers.authorization',
  'headers.Authorization',
  'headers.cookie',
  '*.credential',
  '*.credentials',
  '*.token',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.cookie',
  '*.api_key',
  '*.headers["warden-credential"]',
  '*.headers["Warden-Credential"]',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers.cookie',
];

// Log objects are small; the depth bound only guards against pathological (deep or cyclic) input.
const MAX_DEPTH = 8;

function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Returns `value` with every field whose name says it holds a secret (`isSecretKey` of
 * `@warden/redaction`, the same rule the audit log's redaction uses) replaced by
 * {@link REDACTED}, at any depth in plain objects and arrays. Copy-on-write: the caller's object is
 * never mutated, and an object with nothing to redact is returned as is (no allocation), which
 * keeps the cost per log line negligible. Class instances (errors, buffers) are left to their
 * serializers.
 */
export function scrubCredentials<T>(value: T): T {
  return scrub(value, 0);
}

function scrub<T>(value: T, depth: number): T {
  if (depth > MAX_DEPTH || !isPlainContainer(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = scrub(item, depth + 1);
      if (next !== item) {
        copy ??= [...value];
        copy[i] = next;
      }
    });
    return (copy ?? value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const next = isSecretKey(key) && item !== undefined ? REDACTED : scrub(item, depth + 1);
    if (next !== item) {
      copy ??= { ...value };
      copy[key] = next;
    }
  }
  return (copy ?? value) as T;
}
