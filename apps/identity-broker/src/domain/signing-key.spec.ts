import { describe, expect, it } from 'vitest';
import { formatMicros } from '@warden/contracts';
import { firstRing, nextRotationAt, rotatedRing, rotationDue, verifyingKeys } from './key-ring.js';
import {
  generateSigningKey,
  KID_PATTERN,
  openSigningKey,
  SealedKeyError,
  sealSigningKey,
} from './signing-key.js';

const master = Buffer.alloc(32, 1);
const at = (ms: number) => formatMicros(ms * 1000);

describe('sealed signing keys', () => {
  it('opens a key with the master key it was sealed with', () => {
    const key = generateSigningKey();
    expect(key.kid).toMatch(KID_PATTERN);
    const sealed = sealSigningKey(key, master, at(0));
    expect(JSON.stringify(sealed)).not.toContain(
      key.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    );
    const opened = openSigningKey(sealed, master);
    expect(opened.publicJwk).toEqual(key.publicJwk);
  });

  it('refuses a seal whose IV is not 12 bytes or whose tag is truncated', () => {
    const sealed = sealSigningKey(generateSigningKey(), master, at(0));
    const [iv, ciphertext, tag] = sealed.sealed.split('.') as [string, string, string];
    const b64 = (bytes: Buffer) => bytes.toString('base64url');
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    for (const bad of [
      `${b64(Buffer.concat([ivBytes, Buffer.alloc(4)]))}.${ciphertext}.${tag}`,
      `${b64(ivBytes.subarray(0, 8))}.${ciphertext}.${tag}`,
      `${iv}.${ciphertext}.${b64(tagBytes.subarray(0, 4))}`,
      `${iv}.${ciphertext}.${b64(tagBytes.subarray(0, 12))}`,
      `${iv}.${ciphertext}.${tag}.extra`,
      '',
    ]) {
      expect(() => openSigningKey({ ...sealed, sealed: bad }, master)).toThrow(SealedKeyError);
    }
  });

  it('refuses another master key, a key moved under another kid, and a swapped public key', () => {
    const sealed = sealSigningKey(generateSigningKey(), master, at(0));
    expect(() => openSigningKey(sealed, Buffer.alloc(32, 2))).toThrow(SealedKeyError);
    const other = generateSigningKey();
    expect(() => openSigningKey({ ...sealed, kid: other.kid }, master)).toThrow(SealedKeyError);
    expect(() => openSigningKey({ ...sealed, x: other.publicJwk.x }, master)).toThrow(
      /not its own/,
    );
  });
});

describe('the key ring', () => {
  const sealed = (ms: number) => sealSigningKey(generateSigningKey(), master, at(ms));
  const HOUR = 3_600_000;

  it('keeps a replaced key verifying until its tokens have expired, then drops it', () => {
    const first = sealed(0);
    const ring = rotatedRing(firstRing(first), sealed(10 * HOUR), 10 * HOUR, HOUR);
    expect(ring.previous[0]).toMatchObject({ kid: first.kid, retires_at: at(11 * HOUR) });
    expect(verifyingKeys(ring, 11 * HOUR - 1).map((k) => k.kid)).toContain(first.kid);
    expect(verifyingKeys(ring, 11 * HOUR).map((k) => k.kid)).not.toContain(first.kid);
    // Retired keys are dropped from the document at the next rotation.
    const next = rotatedRing(ring, sealed(12 * HOUR), 12 * HOUR, HOUR);
    expect(next.previous.map((k) => k.kid)).toEqual([ring.active.kid]);
  });

  it('is due for rotation one period after its active key was made, never with no period', () => {
    const ring = firstRing(sealed(1_000));
    expect(nextRotationAt(ring, HOUR)).toBe(1_000 + HOUR);
    expect(rotationDue(ring, HOUR, 1_000 + HOUR - 1)).toBe(false);
    expect(rotationDue(ring, HOUR, 1_000 + HOUR)).toBe(true);
    expect(rotationDue(ring, 0, Number.MAX_SAFE_INTEGER)).toBe(false);
    // Once rotated, the new key is not due: a replica that lost the race does nothing.
    const rotated = rotatedRing(ring, sealed(1_000 + HOUR), 1_000 + HOUR, HOUR);
    expect(rotationDue(rotated, HOUR, 1_000 + HOUR + 5)).toBe(false);
  });
});
