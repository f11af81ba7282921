import { describe, expect, it } from 'vitest';
import { isSecretKey } from './secret-keys.js';

describe('isSecretKey', () => {
  it.each([
    'password',
    'PASSWORD',
    'db_password',
    'passwd',
    'secret',
    'clientSecret',
    'client-secret',
    'aws_secret_access_key',
    'token',
    'access_token',
    'refreshToken',
    'X-Auth-Token',
    'api_key',
    'apiKey',
    'apikey',
    'APIKEY',
    'APIKey',
    'X-API-Key',
    'XApiKey',
    'authorization',
    'Authorization',
    'Proxy-Authorization',
    'credential',
    'credentials',
    'gcpCredentials',
    'privateKey',
    'cookie',
    'Set-Cookie',
    'passphrase',
    // The log scrubber's cases (libs/telemetry), which asks the same question.
    'Warden-Credential',
    'accessToken',
    'refresh_token',
    'client_secret',
    'x-api-key',
    'private_key',
    'signing_key',
    'jwt',
  ])('treats %j as naming a secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    'tokens',
    'max_tokens',
    'input_tokens',
    'token_count',
    'tokenLimit',
    'tokenizer',
    'authorizationDecision',
    'authorization_url',
    'secretary',
    'passwordless',
    'key',
    'keys',
    'publicKey',
    'email',
    'x'.repeat(200) + 'password',
    'credential_id',
    'token_id',
    'tool',
    'run_id',
    'sig',
  ])('treats %j as an ordinary key', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});
