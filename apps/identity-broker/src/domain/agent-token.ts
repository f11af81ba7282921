import type { KeyObject } from 'node:crypto';
import {
  decodeProtectedHeader,
  jwtVerify,
  SignJWT,
  type CryptoKey as JoseCryptoKey,
  type JWTPayload,
} from 'jose';
import { CredentialError, GET_A_NEW_TOKEN, rejectionOf } from './credential-rejection.js';
import { KID_PATTERN, type SigningKey } from './signing-key.js';

/** The JWT `typ` of an agent token. */
export const AGENT_TOKEN_TYPE = 'warden-agent+jwt';
/** The JWT `typ` of a human token (the CLI, admin APIs). */
export const HUMAN_TOKEN_TYPE = 'warden-human+jwt';
/** The `iss` of tokens this broker signs. */
export const ISSUER = 'warden-identity-broker';
/** Clock skew tolerated on `exp` and `nbf`, seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** The longest credential looked at: a real token is a few hundred bytes. */
export const MAX_TOKEN_LENGTH = 4096;
/** What an agent token lets an agent do, for now. */
export const AGENT_SCOPE = ['intents:propose'] as const;

/**
 * JOSE header parameters that point at, or carry, a key of the token's choosing. The broker only
 * ever verifies with its own keys, by `kid`; a token that names another key is an attack, not a
 * mistake, and is refused before any lookup. `crit` would make jose refuse it anyway.
 */
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit'] as const;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** What a broker token says, once verified. */
export interface TokenClaims {
  readonly sub: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly iat: number;
  /** Epoch seconds. */
  readonly exp: number;
  readonly kid: string;
  readonly scope: readonly string[];
  /** A human token's roles (empty for an agent). */
  readonly roles: readonly string[];
}

/** What to sign. */
export interface TokenToSign {
  readonly typ: typeof AGENT_TOKEN_TYPE | typeof HUMAN_TOKEN_TYPE;
  readonly subject: string;
  readonly env: string;
  readonly jti: string;
  readonly scope: readonly string[];
  readonly roles?: readonly string[];
  /** Epoch seconds. */
  readonly iat: number;
  readonly ttlSeconds: number;
}

/** Signs a broker token (EdDSA) with `key`; `kid` goes in the header. */
export async function signToken(
  key: SigningKey,
  claims: TokenToSign,
): Promise<{ token: string; exp: number }> {
  const exp = claims.iat + claims.ttlSeconds;
  const payload: JWTPayload = { scope: [...claims.scope] };
  if (claims.roles !== undefined) payload.roles = [...claims.roles];
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', typ: claims.typ, kid: key.kid })
    .setIssuer(ISSUER)
    .setSubject(claims.subject)
    .setAudience(claims.env)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  return { token, exp };
}

/** The broker's public keys by kid: the active one and the previous ones not yet retired. */
export type KeyLookup = (kid: string) => KeyObject | JoseCryptoKey | undefined;

/** What a token must be to verify. */
export interface TokenExpectations {
  readonly typ: typeof AGENT_TOKEN_TYPE | typeof HUMAN_TOKEN_TYPE;
  /** This deployment's env: the token's `aud`. */
  readonly env: string;
  /** Default: the system clock. */
  readonly currentDate?: Date;
}

/**
 * Verifies a broker token: the header first (EdDSA only, no key-carrying parameters, the expected
 * `typ`, a well-formed and known `kid`), then the signature with that key, then `iss`, `aud`,
 * `exp`/`nbf` with {@link CLOCK_TOLERANCE_SECONDS}. Each failure has its own reason code.
 *
 * Throws {@link CredentialError}, never anything else, whatever the input.
 */
export async function verifyToken(
  token: string,
  keys: KeyLookup,
  expected: TokenExpectations,
): Promise<TokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new CredentialError(
      'oversize_credential',
      `the credential is longer than ${MAX_TOKEN_LENGTH} characters: send the token the identity broker issued, as it is`,
    );
  }
  const kid = checkHeader(token, expected.typ);
  const key = keys(kid);
  if (key === undefined) {
    throw new CredentialError(
      'unknown_kid',
      `the token names a signing key this broker does not have (retired or never its own): ${GET_A_NEW_TOKEN}`,
    );
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['EdDSA'],
      typ: expected.typ,
      issuer: ISSUER,
      audience: expected.env,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      ...(expected.currentDate ? { currentDate: expected.currentDate } : {}),
    }));
  } catch (error) {
    throw rejectionOf(error, expected.env);
  }
  const { sub, jti, exp, iat, scope, roles } = payload;
  // jose checks that these are present, not what they are: `sub` and `jti` go into events.
  if (!nonEmpty(sub) || !nonEmpty(jti) || typeof exp !== 'number' || typeof iat !== 'number') {
    throw new CredentialError(
      'malformed_credential',
      `the token has no usable sub, jti, iat or exp: ${GET_A_NEW_TOKEN}`,
    );
  }
  return { sub, jti, exp, iat, kid, scope: strings(scope), roles: strings(roles) };
}

/**
 * Checks the shape and the JOSE header of a compact JWS without trusting any of it, and returns
 * its `kid`. The order decides which code a token with several faults gets: shape, `alg`,
 * forbidden parameters, `typ`, `kid`.
 */
function checkHeader(token: string, typ: string): string {
  const parts = token.split('.');
  const [header, payload, signature] = parts;
  if (
    parts.length !== 3 ||
    header === undefined ||
    payload === undefined ||
    signature === undefined ||
    header.length === 0 ||
    payload.length === 0 ||
    !parts.every((part) => BASE64URL.test(part))
  ) {
    throw new CredentialError(
      'malformed_credential',
      `the credential is not a JWT: send the token the identity broker issued, as it is`,
    );
  }
  let parameters: Record<string, unknown>;
  try {
    parameters = decodeProtectedHeader(token);
  } catch {
    throw new CredentialError(
      'malformed_credential',
      `the credential's header is not a JOSE header: ${GET_A_NEW_TOKEN}`,
    );
  }
  // Exactly EdDSA, case included: `none`, `None`, `NONE`, HS256 keyed with the public key...
  if (parameters.alg !== 'EdDSA') {
    throw new CredentialError('alg_not_allowed', 'the token is not signed with EdDSA');
  }
  const named = FORBIDDEN_HEADERS.filter((name) => name in parameters);
  if (named.length > 0) {
    throw new CredentialError(
      'forbidden_header',
      `the token's header carries ${named.join(', ')}: this broker verifies with its own keys only`,
    );
  }
  if (parameters.typ !== typ) {
    throw new CredentialError('wrong_token_type', `the token is not of type ${typ}`);
  }
  const { kid } = parameters;
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
    throw new CredentialError(
      'invalid_kid',
      `the token's kid is missing or not a key id this broker makes: ${GET_A_NEW_TOKEN}`,
    );
  }
  if (signature.length === 0) {
    throw new CredentialError('missing_signature', 'the token has no signature');
  }
  return kid;
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : [];
}
