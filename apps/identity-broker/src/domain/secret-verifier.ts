import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost: N = 2^15, r = 8, p = 1 (OWASP's minimum is 2^17 with p = 1 for passwords; client
 * secrets are 256-bit random, so the cost guards a leaked verifier, not a guessable secret). */
const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
/** N × r × 128 bytes = 32 MiB per hash: raise Node's default 32 MiB limit a little above it. */
const MAX_MEM = 64 * 1024 * 1024;

const PATTERN =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** A new client secret: 32 random bytes, base64url, prefixed so a leaked one is recognisable. */
export function newClientSecret(): string {
  return `wsec_${randomBytes(32).toString('base64url')}`;
}

/** The slow-hash verifier of `secret`, in PHC string format: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, { N: 2 ** LOG_N, r: R, p: P, maxmem: MAX_MEM });
  return `$scrypt$ln=${LOG_N},r=${R},p=${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A verifier no secret matches, checked when the principal is unknown so both cost the same. */
let dummyVerifier: Promise<string> | undefined;

/**
 * Makes the dummy verifier now. Call it at start: made lazily, the first request for an unknown
 * id would pay two scrypts (making it, then checking against it) where a known id pays one, a
 * timing difference that tells whether an id exists. Idempotent; resolves once it is ready.
 */
export async function prepareSecretVerifier(): Promise<void> {
  dummyVerifier ??= hashSecret(newClientSecret());
  await dummyVerifier;
}

/**
 * Whether `secret` matches `verifier`, in constant time. With no verifier (an unknown agent or
 * human) it checks against a dummy one, so an unknown id and a wrong secret take the same time.
 */
export async function verifySecret(secret: string, verifier: string | undefined): Promise<boolean> {
  dummyVerifier ??= hashSecret(newClientSecret());
  const match = PATTERN.exec(verifier ?? (await dummyVerifier));
  if (!match) return false;
  const [, logN, r, p, salt, expected] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const want = Buffer.from(expected, 'base64');
  const got = await derive(secret, Buffer.from(salt, 'base64'), {
    N: 2 ** Number(logN),
    r: Number(r),
    p: Number(p),
    maxmem: MAX_MEM,
  });
  return want.length === got.length && timingSafeEqual(want, got) && verifier !== undefined;
}

function derive(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}
