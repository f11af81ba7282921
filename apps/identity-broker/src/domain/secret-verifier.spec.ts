import { describe, expect, it } from 'vitest';
import { hashSecret, newClientSecret, verifySecret } from './secret-verifier.js';

describe('secret verifier', () => {
  it('verifies the secret it hashed, and no other', async () => {
    const secret = newClientSecret();
    expect(secret).toMatch(/^wsec_[A-Za-z0-9_-]{43}$/);
    const verifier = await hashSecret(secret);
    expect(verifier).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(verifier).not.toContain(secret);
    await expect(verifySecret(secret, verifier)).resolves.toBe(true);
    await expect(verifySecret(`${secret}x`, verifier)).resolves.toBe(false);
  });

  it('salts: one secret hashed twice gives two verifiers', async () => {
    const secret = newClientSecret();
    expect(await hashSecret(secret)).not.toBe(await hashSecret(secret));
  });

  it('refuses every secret when there is no verifier (an unknown principal)', async () => {
    await expect(verifySecret('anything', undefined)).resolves.toBe(false);
    await expect(verifySecret('', undefined)).resolves.toBe(false);
  });

  it('refuses a verifier it cannot read instead of throwing', async () => {
    await expect(verifySecret('x', '$scrypt$garbage')).resolves.toBe(false);
  });
});
