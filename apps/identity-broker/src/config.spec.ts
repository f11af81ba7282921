import { ConfigError, parseConfig } from '@warden/service';
import { describe, expect, it } from 'vitest';
import { IdentityBrokerConfig } from './config.js';

const base = {
  WARDEN_ENV: 'dev',
  HTTP_PORT: '0',
  IDENTITY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
};
// Shapes only: the config checks the form, the key itself is checked when first used.
const seed = `SA${'A'.repeat(56)}`;
const account = `A${'B'.repeat(55)}`;

function problems(env: Record<string, string>): string {
  try {
    parseConfig(IdentityBrokerConfig, env, 'identity-broker');
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return '';
}

describe('the NATS credential settings', () => {
  it('are optional together', () => {
    expect(problems(base)).toBe('');
  });

  it('accept a signing seed with its account', () => {
    const config = parseConfig(IdentityBrokerConfig, {
      ...base,
      IDENTITY_NATS_ACCOUNT_SIGNING_SEED: seed,
      IDENTITY_NATS_ACCOUNT: account,
    });
    expect(config.IDENTITY_NATS_ACCOUNT).toBe(account);
  });

  it('refuse a signing seed without the account it belongs to, and say why', () => {
    const message = problems({ ...base, IDENTITY_NATS_ACCOUNT_SIGNING_SEED: seed });
    expect(message).toMatch(
      /IDENTITY_NATS_ACCOUNT\b.*required when IDENTITY_NATS_ACCOUNT_SIGNING_SEED is set/,
    );
    expect(message).not.toContain(seed);
  });

  it('report a missing account together with every other problem', () => {
    const message = problems({
      ...base,
      LOG_LEVEL: 'loud',
      IDENTITY_NATS_ACCOUNT_SIGNING_SEED: seed,
    });
    expect(message).toMatch(/LOG_LEVEL/);
    expect(message).toMatch(/IDENTITY_NATS_ACCOUNT: required when/);
  });

  it('refuse an account that is not an account public key', () => {
    const message = problems({
      ...base,
      IDENTITY_NATS_ACCOUNT_SIGNING_SEED: seed,
      IDENTITY_NATS_ACCOUNT: `U${'B'.repeat(55)}`,
    });
    expect(message).toMatch(/IDENTITY_NATS_ACCOUNT\b.*must be an nkey account public key/);
  });
});
