import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SecretsError } from './secrets.errors.js';

/*
 * AES-256-GCM sealing of one secret value (DESIGN §6: tool secrets never leave the executor), the
 * same construction as the identity broker's signing keys: a fresh 96-bit IV per seal, the full
 * 128-bit tag pinned on open, and additional authenticated data binding the ciphertext to where
 * it belongs, so a value copied to another env, ref or version does not open.
 */

/** AES-GCM's standard nonce length: other lengths are hashed into one (weaker, never ours). */
const IV_BYTES = 12;
/** The full GCM tag: Node accepts a truncated one on open unless the length is pinned. */
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** A sealed value as stored: each part base64. */
export interface SealedValue {
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
}

/** Where a sealed value belongs: its AAD, `<env>:<ref>:<version>`. */
export function secretAad(env: string, ref: string, version: number): string {
  return `${env}:${ref}:${version}`;
}

/** Whether `text` is a master key: exactly 32 bytes in canonical base64. */
export function isMasterKey(text: string): boolean {
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from skips characters that are not base64; the round trip refuses such text.
  return bytes.length === KEY_BYTES && bytes.toString('base64') === text.trim();
}

/**
 * The master key from EXECUTOR_MASTER_KEY.
 *
 * @throws SecretsError `master_key_invalid`, without quoting the text.
 */
export function parseMasterKey(text: string): Buffer {
  if (!isMasterKey(text)) {
    throw new SecretsError(
      'master_key_invalid',
      'EXECUTOR_MASTER_KEY must be 32 random bytes in base64 (openssl rand -base64 32)',
    );
  }
  return Buffer.from(text, 'base64');
}

/** Seals `plaintext` under `masterKey`, bound to `aad`. */
export function sealValue(plaintext: string, masterKey: Buffer, aad: string): SealedValue {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/**
 * Opens a sealed value, or returns `undefined` when it does not open under this key and AAD (or
 * is malformed). The caller says which secret it was: this function knows nothing worth saying.
 */
export function openValue(sealed: SealedValue, masterKey: Buffer, aad: string): string | undefined {
  const iv = Buffer.from(sealed.iv, 'base64');
  const tag = Buffer.from(sealed.tag, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([
      decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
      decipher.final(),
    ]);
    return plaintext.toString('utf8');
  } catch {
    return undefined;
  }
}
