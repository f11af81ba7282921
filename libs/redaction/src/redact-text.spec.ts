import { describe, expect, it } from 'vitest';
import { redactText } from './redact-text.js';
import { RedactionKind, redactionMarker } from './redaction-kind.js';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

/** Asserts that `text` comes back unchanged, with nothing reported. */
function expectUntouched(text: string): void {
  expect(redactText(text)).toEqual({ text, kinds: [], count: 0 });
}

describe('redactText', () => {
  describe('e-mail addresses', () => {
    it.each([
      ['mail ann.lee+tag@example.co.uk now', 'mail [REDACTED:email] now'],
      ['write to ann@example.com.', 'write to [REDACTED:email].'],
      ['<ops@mail.example.io>', '<[REDACTED:email]>'],
      ['"email":"x_1@sub-domain.example.org"', '"email":"[REDACTED:email]"'],
    ])('replaces the address in %j', (text, expected) => {
      expect(redactText(text)).toEqual({ text: expected, kinds: ['email'], count: 1 });
    });

    it('replaces every address in a text', () => {
      const result = redactText('from a@example.com to b@example.com, cc c@example.com');
      expect(result.text).toBe('from [REDACTED:email] to [REDACTED:email], cc [REDACTED:email]');
      expect(result.count).toBe(3);
    });

    it.each([
      '@warden/redaction',
      'pkg@1.2.3',
      'icon@2x.png',
      'user@localhost',
      'a@b',
      'x @ y.com',
    ])('leaves %j alone', (text) => {
      expectUntouched(text);
    });
  });

  describe('phone numbers', () => {
    it.each([
      '+1 415-555-0100',
      '+1 (415) 555-0100',
      '+14155550100',
      '+44 20 7946 0958',
      '+44 (0)20 7946 0958',
      '+33 6 12 34 56 78',
      '(415) 555-0100',
      '415-555-0100',
      '415.555.0100',
      '1-800-555-0100',
      '020 7946 0958',
      '07700 900123',
    ])('replaces %j', (phone) => {
      expect(redactText(`call ${phone} today`)).toEqual({
        text: 'call [REDACTED:phone] today',
        kinds: ['phone'],
        count: 1,
      });
    });

    it.each([
      '2026-11-26',
      '2026-11-26T10:15:30.123Z',
      '26/11/2026 10:15',
      '01JD0Z9X4M8N3F5V7W2Q6R1T8Y',
      '123e4567-e89b-12d3-a456-426614174000',
      '1.2.3',
      'v10.15.3',
      'version 2.4.1-beta.3',
      '192.168.1.100',
      '10.0.0.1:8080',
      'order 48213 of 12 items',
      '1732636800',
      '1732636800000',
      '+05:30',
      'UTC+1 at 12:30:45',
      '123-456-7890',
      'score +1',
    ])('leaves %j alone', (text) => {
      expectUntouched(text);
    });
  });

  describe('payment cards', () => {
    it.each([
      '4111111111111111',
      '4111 1111 1111 1111',
      '4111-1111-1111-1111',
      '5555555555554444',
      '378282246310005',
      '3782 822463 10005',
      '6011111111111117',
    ])('replaces %j, which passes Luhn', (card) => {
      expect(redactText(`card ${card} exp 12/27`)).toEqual({
        text: 'card [REDACTED:card] exp 12/27',
        kinds: ['card'],
        count: 1,
      });
    });

    it.each([
      '4111111111111112',
      '4111 1111 1111 1112',
      '1234567812345678',
      // Millisecond epochs: 13 digits, some pass Luhn, none start with a card network's digit.
      '1732636800009',
      '0.4111111111111111',
      '4111111111111111.5',
    ])('leaves %j alone', (text) => {
      expectUntouched(text);
    });
  });

  describe('national ids', () => {
    it('replaces a dashed US social security number', () => {
      expect(redactText('SSN 123-45-6789 on file')).toEqual({
        text: 'SSN [REDACTED:national_id] on file',
        kinds: ['national_id'],
        count: 1,
      });
    });

    it.each([
      '000-12-3456',
      '666-12-3456',
      '900-12-3456',
      '123-00-4567',
      '123-45-0000',
      '1123-45-6789',
    ])('leaves the never-issued or longer %j alone', (text) => {
      expectUntouched(text);
    });
  });

  describe('JWTs and bearer tokens', () => {
    it('replaces a JWT', () => {
      expect(redactText(`token ${JWT} expired`)).toEqual({
        text: 'token [REDACTED:jwt] expired',
        kinds: ['jwt'],
        count: 1,
      });
    });

    it('keeps the word Bearer and replaces the token', () => {
      expect(redactText('Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0')).toEqual({
        text: 'Authorization: Bearer [REDACTED:bearer]',
        kinds: ['bearer'],
        count: 1,
      });
      expect(redactText('authorization: bearer abc.DEF-123_456~789+/==').text).toBe(
        'authorization: bearer [REDACTED:bearer]',
      );
    });

    it('reports a JWT sent as a bearer token as a JWT', () => {
      expect(redactText(`Authorization: Bearer ${JWT}`)).toEqual({
        text: 'Authorization: Bearer [REDACTED:jwt]',
        kinds: ['jwt'],
        count: 1,
      });
    });

    it.each([
      'use a Bearer token here',
      'Bearer authentication',
      'the bearer of bad news',
      'eyJhbGciOiJIUzI1NiJ9 alone',
    ])('leaves %j alone', (text) => {
      expectUntouched(text);
    });
  });

  describe('API keys', () => {
    it.each([
      'sk-proj-abc123DEF456ghi789JKL012mno345',
      'sk-ant-api03-AbCdEf0123456789_xyzXYZ-0123456789',
      'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
      'pk_live_TYooMQauvdEDq54NiTphI7jx',
      'rk_test_TYooMQauvdEDq54NiTphI7jx',
      'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
      'gho_16C7e42F292c6912E7710c838347Ae178B4a',
      'ghs_16C7e42F292c6912E7710c838347Ae178B4a',
      'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
      'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp',
      'xoxp-123456789012-1234567890123-AbCdEfGhIjKlMnOp',
      'AKIAIOSFODNN7EXAMPLE',
      'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY',
    ])('replaces %j', (key) => {
      expect(redactText(`key=${key};`).text).toBe('key=[REDACTED:api_key];');
      expect(redactText(`using ${key} now`)).toEqual({
        text: 'using [REDACTED:api_key] now',
        kinds: ['api_key'],
        count: 1,
      });
    });

    it.each([
      'sk-learn-compatible-models-here',
      'task-1234567890abcdefghijkl',
      'AKIA-docs',
      'xoxo-gossip',
      'ghp_short',
    ])('leaves %j alone', (text) => {
      expectUntouched(text);
    });
  });

  describe('labelled secrets', () => {
    it.each([
      ['password=hunter2', 'password=[REDACTED:api_key]'],
      ['db_password: s3cr3t! ok', 'db_password: [REDACTED:api_key] ok'],
      ['{"password":"hunter2","user":"bob"}', '{"password":"[REDACTED:api_key]","user":"bob"}'],
      ['{\\"api_key\\":\\"abc123\\"}', '{\\"api_key\\":\\"[REDACTED:api_key]\\"}'],
      ['client_secret=xyz&grant_type=code', 'client_secret=[REDACTED:api_key]&grant_type=code'],
      ['X-Api-Key: 0a1b2c3d', 'X-Api-Key: [REDACTED:api_key]'],
      ['apikey=abcdef', 'apikey=[REDACTED:api_key]'],
      ['access_token=abc.def', 'access_token=[REDACTED:api_key]'],
      ['Authorization: Basic dXNlcjpwYXNz', 'Authorization: Basic [REDACTED:api_key]'],
      [
        'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        'aws_secret_access_key = [REDACTED:api_key]',
      ],
    ])('replaces the value in %j', (text, expected) => {
      expect(redactText(text)).toEqual({ text: expected, kinds: ['api_key'], count: 1 });
    });

    it('replaces a PEM private key, also when quoted into JSON', () => {
      const pem =
        '-----BEGIN RSA PRIVATE KEY-----\nMIIEow+IBAAK/CAQEA==\n-----END RSA PRIVATE KEY-----';
      expect(redactText(`key:\n${pem}\nok`).text).toBe('key:\n[REDACTED:api_key]\nok');
      const quoted = JSON.stringify({ private_key: pem.replace('RSA ', '') });
      expect(redactText(quoted).text).toBe('{"private_key":"[REDACTED:api_key]"}');
    });

    it('replaces the password in a URL and keeps the user', () => {
      expect(redactText('postgres://app:s3cret@db.internal:5432/app').text).toBe(
        'postgres://app:[REDACTED:api_key]@db.internal:5432/app',
      );
    });

    it.each([
      'token: null',
      'password: ***',
      'max_tokens: 1024',
      'Unexpected token } in JSON at position 5',
      'the password is required',
      'https://example.com/a?b=c',
    ])('leaves %j alone', (text) => {
      expectUntouched(text);
    });
  });

  it('reports every kind found, sorted and unique, and counts each replacement', () => {
    const result = redactText(
      'ann@example.com and bob@example.com paid with 4111111111111111 from +44 20 7946 0958',
    );
    expect(result.kinds).toEqual(['card', 'email', 'phone']);
    expect(result.count).toBe(4);
  });

  it('returns the same text and nothing found for clean text', () => {
    const text = 'Customer asked for a refund of the duplicate charge; approved under policy 4.2.';
    const result = redactText(text);
    expect(result.text).toBe(text);
    expect(result.kinds).toEqual([]);
    expect(result.count).toBe(0);
  });

  it('leaves its own markers alone when run twice', () => {
    const once = redactText(`password=${JWT} ann@example.com 4111111111111111`).text;
    expect(redactText(once)).toEqual({ text: once, kinds: [], count: 0 });
  });

  it('uses the marker of each kind', () => {
    expect(redactionMarker(RedactionKind.NationalId)).toBe('[REDACTED:national_id]');
  });

  describe('on large and hostile input', () => {
    const MIB = 1 << 20;

    it('scans a 1 MiB string with nothing to find and returns it unchanged', () => {
      const text = 'The agent checked order 48213 at 2026-11-26T10:15:30Z; status=ok. '.repeat(
        MIB / 64,
      );
      expect(redactText(text).text).toBe(text);
    });

    it('still finds what a 1 MiB string holds at its end', () => {
      const text = `${'lorem ipsum '.repeat(MIB / 12)}ann@example.com`;
      expect(redactText(text).text.endsWith('[REDACTED:email]')).toBe(true);
    });

    // Each of these makes a backtracking regex of the usual shape take minutes or hours; the
    // detectors must finish them in linear time. The timeout is the assertion.
    it.each([
      ['digits', '1'.repeat(MIB)],
      ['card-like digits', '4'.repeat(MIB)],
      ['digit groups', '4111-'.repeat(MIB / 5)],
      ['spaced digits', '1 '.repeat(MIB / 2)],
      ['at signs', '@'.repeat(MIB)],
      ['a.a.a.a', 'a.'.repeat(MIB / 2)],
      ['a@a@a@', 'a@'.repeat(MIB / 2)],
      ['a long local part', `${'a.'.repeat(MIB / 2)}@`],
      ['a long domain', `a@${'a.'.repeat(MIB / 2)}`],
      ['JWT headers', 'eyJ'.repeat(MIB / 3)],
      ['sk- prefixes', 'sk-'.repeat(MIB / 3)],
      ['plus signs', '+1 '.repeat(MIB / 3)],
      ['parentheses', '('.repeat(MIB)],
      ['labels', 'password='.repeat(MIB / 9)],
      ['a label then spaces', `password${' '.repeat(MIB)}`],
      ['URL schemes', '://a:'.repeat(MIB / 5)],
      ['bearer words', 'Bearer '.repeat(MIB / 7)],
      ['backslashes', '\\'.repeat(MIB)],
      ['PEM headers', '-----BEGIN PRIVATE KEY-----'.repeat(MIB / 27)],
    ])('finishes %s', (_name, text) => {
      expect(typeof redactText(text).text).toBe('string');
    });
  });
});
