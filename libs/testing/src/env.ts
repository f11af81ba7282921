import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A fresh env name for one test file: `t-<prefix>-<6 random characters>`, valid as a subject token
 * (`^[a-z0-9][a-z0-9_-]{0,63}$`), as a stream name (`WARDEN_T-…`) and inside a KV bucket name. Each
 * file gets its own stream, durables and buckets, so files run in parallel against one NATS server
 * and a rerun never sees what a crashed run left behind. Remove it in `afterAll` with
 * `removeEnv(nc, env)` from `@warden/messaging`.
 *
 * @param prefix what the test is about (`'publish'`, `'cas'`); anything outside `a-z0-9_-` becomes
 *   `-`, and it is cut to 40 characters.
 */
export function uniqueEnv(prefix: string): string {
  const cleaned =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^[-_]+|[-_]+$/g, '')
      .slice(0, 40) || 'env';
  const bytes = randomBytes(6);
  let suffix = '';
  for (const byte of bytes) suffix += ALPHABET[byte % ALPHABET.length] ?? 'x';
  return `t-${cleaned}-${suffix}`;
}
