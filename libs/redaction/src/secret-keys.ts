/** Words that make a key name a secret wherever they appear in it (`db_password`, `clientSecret`). */
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'passphrase',
  'secret',
  'secrets',
  'credential',
  'credentials',
  'apikey',
  'cookie',
  'cookies',
  'jwt',
]);

/**
 * Words that, right after a secret word, make the key an identifier of a secret rather than the
 * secret itself: `credential_id`, `token_id`, `secret_ids` name what to audit or revoke, and the
 * audit log needs them in the clear.
 */
const IDENTIFIER_WORDS = new Set(['id', 'ids']);

/**
 * Words that, right after `token`, make it a count or a setting rather than a credential. Agent
 * traces are full of LLM usage figures (`token_count`, `tokenLimit`); plural `tokens`
 * (`max_tokens`, `input_tokens`) is never treated as a secret at all.
 */
const TOKEN_METRICS = new Set([
  'count',
  'counts',
  'usage',
  'limit',
  'limits',
  'budget',
  'estimate',
  'type',
  'length',
]);

/** Pairs of words that together name a secret (`api_key`, `X-Api-Key`, `privateKey`). */
const SECRET_PAIRS = new Set(['api key', 'private key', 'signing key']);

/** Longer keys are not names but data; splitting them would cost more than it could find. */
const MAX_KEY_LENGTH = 128;

/**
 * Splits a key into lower-case words at `_`, `-`, `.`, spaces and camelCase boundaries, keeping
 * acronyms together (`XApiKey` → x, api, key; `APIKey` → api, key).
 */
function wordsOf(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0);
}

/**
 * Whether an object key names a secret (the one definition: redaction of stored events and the
 * scrub of log lines both ask this), so that its value is replaced whole: `password`, `secret`,
 * `token`, `api_key`/`apiKey`/`X-API-Key`, `authorization`, `credential(s)`, `cookie`, and
 * compounds such as `db_password`, `clientSecret`, `refresh_token`, `aws_secret_access_key`,
 * `privateKey`, `signing_key`, `jwt`; not `credential_id` (an identifier). Case-insensitive; `_`, `-`, `.`, spaces and camelCase all separate words.
 */
export function isSecretKey(key: string): boolean {
  if (key.length > MAX_KEY_LENGTH) return false;
  const words = wordsOf(key);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    const next = words[i + 1];
    if (next !== undefined && IDENTIFIER_WORDS.has(next)) continue;
    if (SECRET_WORDS.has(word)) return true;
    if (next !== undefined && SECRET_PAIRS.has(`${word} ${next}`)) return true;
    if (word === 'token' && (next === undefined || !TOKEN_METRICS.has(next))) return true;
    // Only as the header name itself (`Authorization`, `Proxy-Authorization`): Warden's own
    // `authorizationDecision` or `authorizationUrl` are not secrets.
    if (word === 'authorization' && next === undefined) return true;
  }
  return false;
}
