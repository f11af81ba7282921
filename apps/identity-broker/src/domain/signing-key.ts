import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { Ed25519PublicJwk } from '@warden/contracts';
import { ulid } from 'ulid';

/**
 * A key id: a ULID, made when the key is. Sortable by creation, and narrow enough that a `kid`
 * header with anything else in it (a path, a quote, a URL) is refused before any lookup.
 */
export const KID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** One of the broker's Ed25519 signing keys, opened. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public half as published in the JWKS. */
  readonly publicJwk: Ed25519PublicJwk & { kid: string; alg: 'EdDSA' };
}

/**
 * A signing key as it is stored (KV `signing_keys`): the public key in clear, the private key
 * sealed with AES-256-GCM under the master key, with the kid as additional authenticated data so
 * a sealed key cannot be moved under another kid.
 */
export interface SealedSigningKey {
  readonly kid: string;
  /** RFC 3339 (µs). */
  readonly created_at: string;
  /** The public key, base64url (JWK `x`). */
  readonly x: string;
  /** The private key (PKCS#8 DER), sealed: `<iv>.<ciphertext>.<tag>`, each base64url. */
  readonly sealed: string;
}

/** Thrown when a stored key cannot be opened: another master key, or a tampered record. */
export class SealedKeyError extends Error {
  override readonly name = 'SealedKeyError';
}

/** AES-GCM's standard nonce length: other lengths are hashed into one (weaker, never ours). */
const IV_BYTES = 12;
/** The full GCM tag: a shorter one would be accepted by Node unless the length is pinned. */
const TAG_BYTES = 16;

/** A new Ed25519 signing key with a fresh kid. */
export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return openedKey(ulid(), privateKey, publicKey);
}

/** Seals `key`'s private half under `masterKey` (32 bytes) for storage. */
export function sealSigningKey(
  key: SigningKey,
  masterKey: Buffer,
  createdAt: string,
): SealedSigningKey {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(key.kid));
  const der = key.privateKey.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = Buffer.concat([cipher.update(der), cipher.final()]);
  const sealed = [iv, ciphertext, cipher.getAuthTag()]
    .map((b) => b.toString('base64url'))
    .join('.');
  return { kid: key.kid, created_at: createdAt, x: key.publicJwk.x, sealed };
}

/**
 * Opens a stored key. Checks the seal (master key, kid) and that the public key stored beside it
 * is the private key's own: a record whose public half was swapped is refused, not published.
 *
 * @throws SealedKeyError
 */
export function openSigningKey(stored: SealedSigningKey, masterKey: Buffer): SigningKey {
  const [iv, ciphertext, tag] = stored.sealed
    .split('.')
    .map((part) => Buffer.from(part, 'base64url'));
  if (
    iv === undefined ||
    ciphertext === undefined ||
    tag === undefined ||
    stored.sealed.split('.').length !== 3 ||
    iv.length !== IV_BYTES ||
    tag.length !== TAG_BYTES
  ) {
    throw new SealedKeyError(`signing key ${stored.kid} is not a sealed key`);
  }
  let der: Buffer;
  try {
    // authTagLength pinned: without it Node accepts a truncated tag (as short as 4 bytes),
    // which makes forging a seal that much cheaper.
    const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(stored.kid));
    decipher.setAuthTag(tag);
    der = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new SealedKeyError(
      `signing key ${stored.kid} does not open with IDENTITY_MASTER_KEY: every replica of this env needs the value the key was sealed with`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw new SealedKeyError(`signing key ${stored.kid}: the sealed key is not a private key`);
  }
  const key = openedKey(stored.kid, privateKey, createPublicKey(privateKey));
  if (key.publicJwk.x !== stored.x) {
    throw new SealedKeyError(`signing key ${stored.kid}: the stored public key is not its own`);
  }
  return key;
}

function openedKey(kid: string, privateKey: KeyObject, publicKey: KeyObject): SigningKey {
  const { x } = publicKey.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new SealedKeyError(`signing key ${kid} is not an Ed25519 key`);
  return {
    kid,
    privateKey,
    publicKey,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA' },
  };
}
