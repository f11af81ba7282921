import {
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type Account,
  type OperatorLimits,
  type SigningKey,
  type UserPermissionsLimits,
} from '@nats-io/jwt';
import { createAccount, createUser, fromPublic, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { isSubjectToken, SUBJECT_TOKEN_RULE } from '@warden/contracts';
import { AGENT_ID_TAG, agentPermissionsTemplate, type NatsPermissions } from './permissions.js';
import { NatsAuthError } from './nats-auth.errors.js';

/** An nkey pair as text: the public key (`O…`, `A…`, `U…`) and its seed (`SO…`, `SA…`, `SU…`). */
export interface NkeyText {
  readonly publicKey: string;
  readonly seed: string;
}

/** Both halves of a key pair as text. The seed is a secret: never log it. */
export function keyText(kp: KeyPair): NkeyText {
  return { publicKey: kp.getPublicKey(), seed: new TextDecoder().decode(kp.getSeed()) };
}

/** A key pair from its seed text (`SO…`, `SA…`, `SU…`); a malformed seed is refused by name. */
export function keyFromSeed(seed: string, expected: 'operator' | 'account' | 'user'): KeyPair {
  const prefix = { operator: 'SO', account: 'SA', user: 'SU' }[expected];
  if (!seed.startsWith(prefix)) {
    throw new NatsAuthError('invalid_key', `expected an nkey ${expected} seed (${prefix}…)`);
  }
  try {
    return fromSeed(new TextEncoder().encode(seed));
  } catch (error) {
    // The library's message may quote the input: keep the seed out of logs.
    throw new NatsAuthError('invalid_key', `not a valid nkey ${expected} seed`, { cause: error });
  }
}

/**
 * Account limits with every NATS limit lifted and JetStream enabled. A limit missing from an
 * account JWT reads as 0 on the server, and 0 connections means nobody may connect: each one is
 * spelled out. JetStream is on for an account exactly when its storage limits are not 0.
 */
export function unlimitedAccountLimits(jetstream: boolean): OperatorLimits {
  return {
    subs: -1,
    data: -1,
    payload: -1,
    imports: -1,
    exports: -1,
    wildcards: true,
    conn: -1,
    leaf: -1,
    ...(jetstream
      ? { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1, max_ack_pending: -1 }
      : { mem_storage: 0, disk_storage: 0, streams: 0, consumer: 0 }),
  };
}

/** Mints the operator JWT, self-signed by the operator key, naming the system account. */
export function mintOperatorJwt(options: {
  name: string;
  operator: KeyPair;
  systemAccount: string;
}): Promise<string> {
  return encodeOperator(options.name, options.operator, {
    system_account: options.systemAccount,
  });
}

/** The role of the identity broker's scoped signing key in the account JWT. */
export const AGENT_SIGNING_ROLE = 'agent';

/**
 * The identity broker's signing key as the account JWT lists it: a *scoped* key (`user_scope`)
 * whose template is {@link agentPermissionsTemplate}. nats-server gives every user this key signs
 * the template's grants, with the agent's id filled in from the user JWT's `agent:<id>` tag, and
 * refuses a user JWT of this key that carries permissions or limits of its own. So whoever holds
 * the broker's seed can mint agents, and nothing more: no `pub >`, no service's subjects.
 */
export function agentScopedSigningKey(env: string, publicKey: string): SigningKey {
  return {
    kind: 'user_scope',
    key: publicKey,
    role: AGENT_SIGNING_ROLE,
    template: userClaims(agentPermissionsTemplate(env)),
  };
}

/**
 * Mints an account JWT signed by the operator. `signingKeys` are the account's signing keys (the
 * key users are minted with: the identity broker holds one of these, never the account's own
 * seed, so it can be rotated by re-issuing this JWT); a {@link SigningKey} entry is a scoped one.
 */
export function mintAccountJwt(options: {
  name: string;
  account: KeyPair | string;
  operator: KeyPair;
  signingKeys?: readonly (string | SigningKey)[];
  jetstream: boolean;
}): Promise<string> {
  const account: Partial<Account> = {
    limits: unlimitedAccountLimits(options.jetstream),
    ...(options.signingKeys === undefined ? {} : { signing_keys: [...options.signingKeys] }),
  };
  const subject =
    typeof options.account === 'string' ? fromPublic(options.account) : options.account;
  return encodeAccount(options.name, subject, account, { signer: options.operator });
}

/**
 * The `nats` claim of a user JWT with `permissions` (no connection or payload limits), or the
 * template of a scoped signing key.
 */
export function userClaims(permissions: NatsPermissions): Partial<UserPermissionsLimits> {
  return {
    pub: { allow: [...permissions.pub.allow], deny: [...permissions.pub.deny] },
    sub: { allow: [...permissions.sub.allow], deny: [...permissions.sub.deny] },
    ...(permissions.responses === undefined
      ? {}
      : {
          // `ttl` is a Go time.Duration on the wire: nanoseconds.
          resp: { max: permissions.responses.max, ttl: permissions.responses.ttlMs * 1_000_000 },
        }),
    subs: permissions.limits?.subs ?? -1,
    payload: permissions.limits?.payload ?? -1,
    data: -1,
  };
}

/** Options of {@link mintUserJwt}. */
export interface MintUserOptions {
  /** The user's name in the JWT (shown by the server's monitoring). */
  name: string;
  /** The user's public nkey (`U…`): whoever holds its seed may connect as this user. */
  userPublicKey: string;
  /** The account's public key (`A…`) the user belongs to. */
  accountPublicKey: string;
  /** The key that signs: an account signing key (or the account key itself). */
  signer: KeyPair;
  permissions: NatsPermissions;
  /** When the credential stops working (the server disconnects the user then). Default: never. */
  expiresAt?: Date;
}

/** Mints a user JWT with `permissions`, signed by an account (signing) key. */
export async function mintUserJwt(options: MintUserOptions): Promise<string> {
  const user = checkUserKey(options.userPublicKey);
  const signedByAccountKey = options.signer.getPublicKey() === options.accountPublicKey;
  const exp = options.expiresAt === undefined ? undefined : epochSeconds(options.expiresAt);
  return await encodeUser(
    options.name,
    user,
    // With a signing key, the account's own public key goes into `issuer_account`.
    signedByAccountKey ? options.signer : fromPublic(options.accountPublicKey),
    userClaims(options.permissions),
    {
      ...(signedByAccountKey ? {} : { signer: options.signer }),
      ...(exp === undefined ? {} : { exp }),
    },
  );
}

/**
 * The longest an agent's NATS user JWT lives, whatever its token's expiry: an agent that is
 * suspended, retired or has its credentials revoked gets no new token, so the server ends its
 * connection within this window (its intents are refused at once: the broker checks every one).
 * The SDK refreshes at 80 % of the shorter of token and JWT, i.e. every 4 minutes.
 */
export const AGENT_NATS_JWT_MAX_TTL_SECONDS = 5 * 60;

/** Options of {@link mintAgentUserJwt}. */
export interface MintAgentUserOptions {
  /**
   * The broker's scoped signing seed (`SA…`): IDENTITY_NATS_ACCOUNT_SIGNING_SEED. Never the
   * account's own seed: the account key is not scoped, so a permission-less user it signed would
   * be allowed everything.
   */
  accountSigningSeed: string;
  /** The Warden account's public key (`A…`), named in the user JWT's `issuer_account`. */
  accountPublicKey: string;
  /**
   * The env the credential is for. Checked only: the grants come from the signing key's template,
   * which `warden nats setup` wrote for one env.
   */
  env: string;
  agentId: string;
  /** The nkey the agent generated and holds (`U…`); the seed never leaves the agent. */
  userPublicKey: string;
  /**
   * When the credential ends (the server disconnects the agent then). The broker passes the
   * earlier of the token's expiry and now + {@link AGENT_NATS_JWT_MAX_TTL_SECONDS}.
   */
  expiresAt: Date;
}

/**
 * Mints the NATS user JWT an agent connects with, bound to the nkey the agent holds, signed with
 * the broker's scoped key ({@link agentScopedSigningKey}). The JWT carries no permissions: only
 * the tag `agent:<id>`, from which the server fills in the key's template, so the agent gets
 * exactly `agentPermissions(env, agentId)`. The identity broker calls it when it issues a token
 * whose request carries `nats_public_key`.
 */
export async function mintAgentUserJwt(options: MintAgentUserOptions): Promise<string> {
  if (!(options.expiresAt.getTime() > Date.now())) {
    throw new NatsAuthError('invalid_expiry', 'an agent NATS credential must expire in the future');
  }
  for (const [field, value] of [
    ['env', options.env],
    ['agent', options.agentId],
  ] as const) {
    // The id becomes a subject token of every grant: a dot or a wildcard would widen them.
    if (!isSubjectToken(value)) {
      throw new NatsAuthError(
        'invalid_name',
        `${field} ${JSON.stringify(value)} ${SUBJECT_TOKEN_RULE}`,
      );
    }
  }
  const signer = keyFromSeed(options.accountSigningSeed, 'account');
  const account = checkKey(options.accountPublicKey, /^A[A-Z2-7]{55}$/, 'account');
  if (signer.getPublicKey() === account.getPublicKey()) {
    throw new NatsAuthError(
      'invalid_key',
      "agent JWTs are signed with the broker's scoped signing key, not the account's own key (which no template limits)",
    );
  }
  const user = checkUserKey(options.userPublicKey);
  return await encodeUser(
    `agent ${options.agentId}`,
    user,
    account,
    // Nothing but the tag: the server refuses a scoped key's user that sets any permission or
    // limit, and takes all of them from the key's template.
    { tags: [`${AGENT_ID_TAG}:${options.agentId}`] },
    { signer, scopedUser: true, exp: epochSeconds(options.expiresAt) },
  );
}

/** A `.creds` file (JWT + seed) for a user, as `nats-server` clients read it. */
export function formatCreds(jwt: string, user: KeyPair): string {
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

/** A new user key pair, for services and tests (agents make their own). */
export function createUserKey(): KeyPair {
  return createUser();
}

/** A new account key pair. */
export function createAccountKey(): KeyPair {
  return createAccount();
}

function checkUserKey(publicKey: string): KeyPair {
  return checkKey(publicKey, /^U[A-Z2-7]{55}$/, 'user');
}

function checkKey(publicKey: string, pattern: RegExp, kind: 'user' | 'account'): KeyPair {
  if (!pattern.test(publicKey)) {
    const prefix = kind === 'user' ? 'U' : 'A';
    throw new NatsAuthError(
      'invalid_key',
      `expected an nkey ${kind} public key (${prefix}…, 56 characters)`,
    );
  }
  try {
    return fromPublic(publicKey);
  } catch (error) {
    throw new NatsAuthError('invalid_key', `not a valid nkey ${kind} public key`, { cause: error });
  }
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
