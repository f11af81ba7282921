import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { ulid } from 'ulid';
import { AGENT_TOKEN_TYPE, HUMAN_TOKEN_TYPE, ISSUER } from '../src/domain/agent-token.js';
import type { CredentialRejection } from '../src/domain/credential-rejection.js';
import type { SigningKey } from '../src/domain/signing-key.js';

/** A credential to try, and the reason code the broker must refuse it with (or `accepted`). */
export interface HostileCase {
  readonly name: string;
  readonly token: string;
  readonly expect: CredentialRejection | 'accepted';
}

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A compact JWS of `header` and `payload`, signed EdDSA with `privateKey`, assembled by hand. */
export function signedBy(privateKey: KeyObject, header: unknown, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

/**
 * The credentials DESIGN §6 and issue 4 say the identity stage must refuse, each with the reason
 * code of the check that catches it, plus the boundary cases it must accept. Every token except
 * the one under test is what the broker would issue to `agentId` for `env`, signed with `key`.
 */
export function hostileTokens(key: SigningKey, env: string, agentId: string): HostileCase[] {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'EdDSA', typ: AGENT_TOKEN_TYPE, kid: key.kid };
  const payload = (claims: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: ISSUER,
    sub: agentId,
    aud: env,
    jti: ulid(),
    scope: ['intents:propose'],
    iat: now,
    exp: now + 300,
    ...claims,
  });
  const ours = (h: Record<string, unknown> = {}, p: Record<string, unknown> = {}) =>
    signedBy(key.privateKey, { ...header, ...h }, payload(p));
  const unsigned = (alg: string) => `${b64({ ...header, alg })}.${b64(payload())}.`;
  const stranger = generateKeyPairSync('ed25519').privateKey;
  const hs256 = () => {
    const input = `${b64({ ...header, alg: 'HS256' })}.${b64(payload())}`;
    const secret = key.publicKey.export({ format: 'der', type: 'spki' });
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  const flipped = () => {
    const [h, p, s] = ours().split('.') as [string, string, string];
    const bytes = Buffer.from(p, 'base64url');
    // A byte inside the jti's value: still JSON, still a string, no longer what was signed.
    const at = bytes.indexOf(Buffer.from('"jti":"')) + 8;
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    return `${h}.${bytes.toString('base64url')}.${s}`;
  };
  const withoutExp = () => {
    const { exp: _, ...rest } = payload();
    return signedBy(key.privateKey, header, rest);
  };
  return [
    { name: 'a valid token', token: ours(), expect: 'accepted' },
    { name: 'alg none', token: unsigned('none'), expect: 'alg_not_allowed' },
    { name: 'alg None', token: unsigned('None'), expect: 'alg_not_allowed' },
    { name: 'alg NONE', token: unsigned('NONE'), expect: 'alg_not_allowed' },
    { name: 'HS256 keyed with the public key', token: hs256(), expect: 'alg_not_allowed' },
    {
      name: 'an unknown kid',
      token: signedBy(stranger, { ...header, kid: ulid() }, payload()),
      expect: 'unknown_kid',
    },
    {
      name: 'a kid with a path',
      token: ours({ kid: '../../../etc/passwd' }),
      expect: 'invalid_kid',
    },
    { name: 'a kid with SQL', token: ours({ kid: "x' OR '1'='1" }), expect: 'invalid_kid' },
    { name: 'no kid', token: ours({ kid: undefined }), expect: 'invalid_kid' },
    {
      name: 'a jku header',
      token: ours({ jku: 'https://evil.example/jwks' }),
      expect: 'forbidden_header',
    },
    {
      name: 'a jwk header',
      token: ours({ jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }),
      expect: 'forbidden_header',
    },
    {
      name: 'an x5u header',
      token: ours({ x5u: 'https://evil.example/cert' }),
      expect: 'forbidden_header',
    },
    {
      name: 'a stripped signature',
      token: `${ours().split('.').slice(0, 2).join('.')}.`,
      expect: 'missing_signature',
    },
    { name: 'a flipped payload byte', token: flipped(), expect: 'bad_signature' },
    {
      name: 'our kid, signed by another key',
      token: signedBy(stranger, header, payload()),
      expect: 'bad_signature',
    },
    // The 30 s leeway's edges, 5 s either side: the tokens are verified a moment after they are
    // made, and on a loaded machine that moment can pass a second (1 s margins were flaky).
    {
      name: 'exp 35 s past',
      token: ours({}, { iat: now - 335, exp: now - 35 }),
      expect: 'token_expired',
    },
    {
      name: 'exp 25 s past',
      token: ours({}, { iat: now - 325, exp: now - 25 }),
      expect: 'accepted',
    },
    { name: 'nbf 35 s ahead', token: ours({}, { nbf: now + 35 }), expect: 'token_not_yet_valid' },
    { name: 'nbf 25 s ahead', token: ours({}, { nbf: now + 25 }), expect: 'accepted' },
    { name: 'no exp', token: withoutExp(), expect: 'missing_claim' },
    {
      name: 'a token of another env',
      token: ours({}, { aud: 'staging' }),
      expect: 'wrong_audience',
    },
    { name: 'another issuer', token: ours({}, { iss: 'evil-broker' }), expect: 'wrong_issuer' },
    { name: 'a human token', token: ours({ typ: HUMAN_TOKEN_TYPE }), expect: 'wrong_token_type' },
    { name: 'typ JWT', token: ours({ typ: 'JWT' }), expect: 'wrong_token_type' },
    {
      // ~62 KiB: JetStream itself refuses headers over 64 KiB, so this is the largest that can
      // reach the broker (see the int test for the 64 KiB one).
      name: 'a 62 KiB token',
      token: ours({}, { pad: 'x'.repeat(46 * 1024) }),
      expect: 'oversize_credential',
    },
    { name: 'a non-JWT string', token: 'hello, I am a token', expect: 'malformed_credential' },
    { name: 'three garbage segments', token: 'a.b.c', expect: 'malformed_credential' },
    { name: 'binary junk', token: '\u0000\uffff.\u0001.\u0002', expect: 'malformed_credential' },
  ];
}
