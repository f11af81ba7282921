import {
  describeIssues,
  EXECUTOR_API,
  isSecretRef,
  SecretChanged,
  SecretRef,
  SecretSetRequest,
} from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { apiCodeOf } from '../executor-api.js';
import { SecretsError, type SecretsErrorCode } from './secrets.errors.js';

const VALUE = 'sk_live_51H-value-that-must-never-show';

/** Refs, and whether each is valid: lower-case segments joined by "/", safe as KV keys. */
const REFS: readonly (readonly [string, boolean])[] = [
  ['helpdesk/api-token', true],
  ['a', true],
  ['billing/stripe.key', true],
  ['zendesk/prod.v2/oauth_client-secret', true],
  ['0/1/2', true],
  [`a/${'b'.repeat(126)}`, true],
  [`a/${'b'.repeat(127)}`, false],
  ['', false],
  ['Helpdesk/api-token', false],
  ['/helpdesk', false],
  ['helpdesk/', false],
  ['helpdesk//token', false],
  ['-token', false],
  ['helpdesk/.hidden', false],
  // An empty subject token in the KV key.
  ['a..b', false],
  ['token.', false],
  ['helpdesk/token.', false],
  ['has space', false],
  ['star*', false],
  ['gt>', false],
  ['helpdesk\\token', false],
];

describe('secret refs', () => {
  it('are lower-case segments joined by "/", with no empty subject token', () => {
    for (const [ref, valid] of REFS) {
      expect(isSecretRef(ref), ref).toBe(valid);
      expect(SecretRef.safeParse(ref).success, ref).toBe(valid);
    }
  });
});

describe('no value in any error', () => {
  it('the request refusals describe the value without quoting it', () => {
    for (const value of ['', `${VALUE}${'x'.repeat(8192)}`]) {
      const parsed = SecretSetRequest.safeParse({ ref: 'helpdesk/api-token', value });
      expect(parsed.success).toBe(false);
      if (!parsed.success) {
        const message = describeIssues(parsed.error);
        expect(message).toMatch(/value/);
        if (value !== '') expect(message).not.toContain(VALUE);
      }
    }
    const extra = SecretSetRequest.safeParse({ ref: 'a', value: 'ok', note: VALUE });
    expect(extra.success || describeIssues(extra.error)).not.toContain(VALUE);
    const wrongRef = SecretSetRequest.safeParse({ ref: VALUE.toUpperCase(), value: 'ok' });
    expect(wrongRef.success || describeIssues(wrongRef.error)).not.toContain(VALUE.toUpperCase());
  });

  it('the store errors name a ref and a version at most', () => {
    const errors = [
      SecretsError.notFound('helpdesk/api-token'),
      SecretsError.unreadable('helpdesk/api-token', 2, 'altered'),
      SecretsError.masterKeyMissing(),
      SecretsError.conflict('helpdesk/api-token'),
    ];
    for (const error of errors) expect(error.message).not.toContain(VALUE);
  });

  it('maps every store error to an API code', () => {
    const codes: SecretsErrorCode[] = [
      'secret_not_found',
      'secret_unreadable',
      'master_key_missing',
      'master_key_invalid',
      'secret_conflict',
    ];
    expect(codes.map(apiCodeOf)).toEqual([
      'not_found',
      'secret_unreadable',
      'master_key_missing',
      'master_key_missing',
      'conflict',
    ]);
  });
});

describe('the executor API contract', () => {
  it('lets only admins in, and no result schema has room for a value', () => {
    for (const [op, { access, result }] of Object.entries(EXECUTOR_API)) {
      expect(access, op).toBe('admin');
      expect(JSON.stringify(result.toJSONSchema()), op).not.toMatch(/"value"/);
    }
  });

  it('the audit event has no room for a value', () => {
    expect(
      SecretChanged.safeParse({
        ref: 'helpdesk/api-token',
        version: 1,
        action: 'set',
        by: 'human:alice',
        value: VALUE,
      }).success,
    ).toBe(false);
  });
});
