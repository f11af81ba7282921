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

/*
 * A key is credential-like when it ENDS with one of these words, case-insensitively, so
 * `accessToken`, `refresh_token`, `Warden-Credential`, `client_secret` and `x-api-key` match while
 * `input_tokens` and `max_tokens` (model usage, which we do want in logs) and `credential_id` (an
 * id, not a secret) do not.
 */
const CREDENTIAL_KEY =
  /(?:credentials?|token|secret|password|passwd|passphrase|authorization|cookie|api[-_]?key|private[-_]?key|signing[-_]?key|jwt)$/i;

/** Whether a field with this name may hold a secret and must be redacted from logs. */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key);
}

// Log objects are small; the depth bound only guards against pathological (deep or cyclic) input.
const MAX_DEPTH = 8;

function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Returns `value` with every credential-like field (see {@link isCredentialKey}) replaced by
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
    const next = isCredentialKey(key) && item !== undefined ? REDACTED : scrub(item, depth + 1);
    if (next !== item) {
      copy ??= { ...value };
      copy[key] = next;
    }
  }
  return (copy ?? value) as T;
}
