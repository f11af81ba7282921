import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/** The DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 key pair for signing agent tokens. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/**
 * The development signing key: Ed25519, derived from a seed string so that every replica given
 * the same seed signs and verifies with the same key. Not for production (anyone with the seed
 * can mint tokens); the identity issue brings generated, rotated keys published as a JWKS.
 */
export function devSigningKey(seed: string): SigningKey {
  const raw = createHash('sha256').update(seed).digest();
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  const kid = `dev-${createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16)}`;
  return { kid, privateKey, publicKey };
}
