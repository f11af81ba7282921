import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isMasterKey, openValue, parseMasterKey, sealValue, secretAad } from './secret-seal.js';
import { isSecretsError } from './secrets.errors.js';

const KEY = randomBytes(32);
const VALUE = 'tok-4f1d9c2e-very-secret';
const AAD = secretAad('prod', 'helpdesk/api-token', 3);

describe('sealing a secret value', () => {
  it('opens what it sealed, with a fresh IV each time', () => {
    const sealed = sealValue(VALUE, KEY, AAD);
    expect(openValue(sealed, KEY, AAD)).toBe(VALUE);
    const again = sealValue(VALUE, KEY, AAD);
    expect(again.iv).not.toBe(sealed.iv);
    expect(again.ciphertext).not.toBe(sealed.ciphertext);
  });

  it('round-trips unicode and the longest value', () => {
    for (const value of ['ünïcødé 🔑', 'x'.repeat(8192), ' padded \n']) {
      expect(openValue(sealValue(value, KEY, AAD), KEY, AAD)).toBe(value);
    }
  });

  it('holds no plaintext in any stored part', () => {
    const stored = JSON.stringify(sealValue(VALUE, KEY, AAD));
    expect(stored).not.toContain(VALUE);
    expect(stored).not.toContain(Buffer.from(VALUE).toString('base64'));
  });

  it('refuses to open under another master key', () => {
    expect(openValue(sealValue(VALUE, KEY, AAD), randomBytes(32), AAD)).toBeUndefined();
  });

  it('refuses to open in another env, under another ref or another version', () => {
    const sealed = sealValue(VALUE, KEY, AAD);
    for (const aad of [
      secretAad('staging', 'helpdesk/api-token', 3),
      secretAad('prod', 'helpdesk/other-token', 3),
      secretAad('prod', 'helpdesk/api-token', 2),
    ]) {
      expect(openValue(sealed, KEY, aad), aad).toBeUndefined();
    }
  });

  it('refuses a tampered ciphertext, a forged or truncated tag, a wrong-length IV', () => {
    const sealed = sealValue(VALUE, KEY, AAD);
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    const tag = Buffer.from(sealed.tag, 'base64');
    expect(
      openValue({ ...sealed, ciphertext: bytes.toString('base64') }, KEY, AAD),
    ).toBeUndefined();
    expect(
      openValue({ ...sealed, tag: randomBytes(16).toString('base64') }, KEY, AAD),
    ).toBeUndefined();
    expect(
      openValue({ ...sealed, tag: tag.subarray(0, 4).toString('base64') }, KEY, AAD),
    ).toBeUndefined();
    expect(
      openValue({ ...sealed, iv: randomBytes(16).toString('base64') }, KEY, AAD),
    ).toBeUndefined();
  });
});

describe('the master key', () => {
  it('takes exactly 32 bytes of base64', () => {
    const text = randomBytes(32).toString('base64');
    expect(isMasterKey(text)).toBe(true);
    expect(parseMasterKey(text)).toHaveLength(32);
  });

  it('refuses other lengths and text that is not base64, without quoting it', () => {
    for (const text of [
      '',
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      'not base64 at all but long enough to be 32 bytes!!',
    ]) {
      expect(isMasterKey(text), text).toBe(false);
      try {
        parseMasterKey(text);
        expect.unreachable();
      } catch (error) {
        expect(isSecretsError(error, 'master_key_invalid')).toBe(true);
        if (text !== '') expect((error as Error).message).not.toContain(text);
        expect((error as Error).message).toMatch(/openssl rand -base64 32/);
      }
    }
  });
});
