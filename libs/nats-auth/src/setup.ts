import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { isSubjectToken, SUBJECT_TOKEN_RULE } from '@warden/contracts';
import {
  agentScopedSigningKey,
  formatCreds,
  keyText,
  mintAccountJwt,
  mintOperatorJwt,
  mintUserJwt,
} from './jwt.js';
import { NatsAuthError } from './nats-auth.errors.js';
import {
  bootstrapPermissions,
  cliPermissions,
  servicePermissions,
  WARDEN_SERVICES,
  type NatsPermissions,
} from './permissions.js';

/** The files of a setup, relative to its directory. */
export const SETUP_FILES = {
  /** `include`d by deploy/nats/nats-server.conf: operator, system account, resolver preload. */
  authConf: 'auth.conf',
  /** A complete server config for trying the setup alone (`nats-server -c nats-server.conf`). */
  serverConf: 'nats-server.conf',
  operatorJwt: 'operator.jwt',
  /** The operator's seed: only needed to re-issue account JWTs. Move it offline. */
  operatorSeed: 'operator.seed',
  /** The Warden account's own seed: only needed to re-issue its signing keys. Move it offline. */
  accountSeed: 'warden-account.seed',
  /** The Warden account's public key (`A…`): `accountPublicKey` of `mintAgentUserJwt`. */
  accountPublicKey: 'warden-account.pub',
  /**
   * The scoped signing seed the identity broker mints agent JWTs with (mode 0600): the account
   * JWT lists it with the agent template, so it mints nothing but agents.
   */
  brokerSigningSeed: 'identity-broker.account-signing.seed',
  /** One `.creds` per service, plus `bootstrap.creds` and `cli.creds`. */
  credsDir: 'creds',
  /** What was generated (public keys, env, files), never a secret. */
  manifest: 'setup.json',
} as const;

/** Options of {@link generateNatsSetup}. */
export interface NatsSetupOptions {
  /** The directory to write into; created when missing, refused when it already holds a setup. */
  dir: string;
  /** The env the credentials are scoped to. Default `dev`. */
  env?: string;
  /** The operator's name in its JWT. Default `warden`. */
  operatorName?: string;
  /** Replace an existing setup in `dir` (every credential changes). Default false. */
  overwrite?: boolean;
}

/** What {@link generateNatsSetup} wrote (public facts only). */
export interface NatsSetup {
  readonly dir: string;
  readonly env: string;
  readonly operatorPublicKey: string;
  readonly systemAccountPublicKey: string;
  readonly accountPublicKey: string;
  /** The public half of the broker's scoped signing key (listed in the account JWT, role `agent`). */
  readonly brokerSigningPublicKey: string;
  /** Path of each principal's `.creds` file, by principal (`policy-decision`, `bootstrap`, `cli`). */
  readonly creds: Readonly<Record<string, string>>;
  /** Every file written, relative to `dir`. */
  readonly files: readonly string[];
}

const SECRET = 0o600;
const PUBLIC = 0o644;

/**
 * Generates a complete operator-mode setup for one env into `dir`: operator, system account and
 * Warden account (JetStream on) JWTs, the server's auth config with a memory resolver that
 * preloads both accounts, one `.creds` per service plus the bootstrap and CLI users, and the
 * account signing seed for the identity broker. Secrets are written with mode 0600.
 *
 * The Warden account gets two keys: its own (kept offline) and one scoped signing key given to
 * the broker, whose template is the agent permissions: the broker's key can mint agents only, and
 * a leaked one is replaced by re-issuing the account JWT, not every credential.
 */
export async function generateNatsSetup(options: NatsSetupOptions): Promise<NatsSetup> {
  const env = options.env ?? 'dev';
  if (!isSubjectToken(env)) {
    throw new NatsAuthError('invalid_name', `env ${JSON.stringify(env)} ${SUBJECT_TOKEN_RULE}`);
  }
  const { dir } = options;
  await mkdir(join(dir, SETUP_FILES.credsDir), { recursive: true, mode: 0o700 });
  if (!options.overwrite && (await readdir(dir)).includes(SETUP_FILES.manifest)) {
    throw new NatsAuthError(
      'setup_exists',
      `${dir} already holds a NATS setup: pass overwrite to replace every credential in it`,
    );
  }

  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const brokerSigning = createAccount();
  const operatorName = options.operatorName ?? 'warden';

  const operatorJwt = await mintOperatorJwt({
    name: operatorName,
    operator,
    systemAccount: system.getPublicKey(),
  });
  const systemJwt = await mintAccountJwt({
    name: 'SYS',
    account: system,
    operator,
    jetstream: false,
  });
  const accountJwt = await mintAccountJwt({
    name: `warden-${env}`,
    account,
    operator,
    signingKeys: [agentScopedSigningKey(env, brokerSigning.getPublicKey())],
    jetstream: true,
  });

  const principals: [string, NatsPermissions][] = [
    ...WARDEN_SERVICES.map((service): [string, NatsPermissions] => [
      service,
      servicePermissions(env, service),
    ]),
    ['bootstrap', bootstrapPermissions(env)],
    ['cli', cliPermissions(env)],
  ];
  const files: string[] = [];
  const write = async (name: string, text: string, mode: number): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text, { mode });
    // writeFile's mode only applies to a new file: an overwritten one keeps its old mode.
    await chmod(path, mode);
    files.push(name);
    return path;
  };

  const creds: Record<string, string> = {};
  for (const [name, permissions] of principals) {
    const user = createUser();
    // Service users are signed with the account's own key (the broker's key signs only agents),
    // so revoking the broker's signing key never cuts the services off.
    const jwt = await mintUserJwt({
      name,
      userPublicKey: user.getPublicKey(),
      accountPublicKey: account.getPublicKey(),
      signer: account,
      permissions,
    });
    creds[name] = await write(
      join(SETUP_FILES.credsDir, `${name}.creds`),
      formatCreds(jwt, user),
      // The bootstrap credential is handed to every agent host; it still is not published.
      SECRET,
    );
  }

  await write(SETUP_FILES.operatorJwt, `${operatorJwt}\n`, PUBLIC);
  await write(SETUP_FILES.operatorSeed, seedLine(operator), SECRET);
  await write(SETUP_FILES.accountSeed, seedLine(account), SECRET);
  await write(SETUP_FILES.accountPublicKey, `${account.getPublicKey()}\n`, PUBLIC);
  await write(SETUP_FILES.brokerSigningSeed, seedLine(brokerSigning), SECRET);
  await write(
    SETUP_FILES.authConf,
    authConf({ operatorJwt, system, systemJwt, account, accountJwt, env }),
    PUBLIC,
  );
  await write(SETUP_FILES.serverConf, standaloneServerConf(), PUBLIC);

  const setup: NatsSetup = {
    dir,
    env,
    operatorPublicKey: operator.getPublicKey(),
    systemAccountPublicKey: system.getPublicKey(),
    accountPublicKey: account.getPublicKey(),
    brokerSigningPublicKey: brokerSigning.getPublicKey(),
    creds,
    files: [...files, SETUP_FILES.manifest],
  };
  await write(SETUP_FILES.manifest, `${JSON.stringify(setup, null, 2)}\n`, PUBLIC);
  return setup;
}

function seedLine(kp: KeyPair): string {
  return `${keyText(kp).seed}\n`;
}

/** The auth part of the server config: trust chain and accounts, no listener, no storage. */
function authConf(parts: {
  operatorJwt: string;
  system: KeyPair;
  systemJwt: string;
  account: KeyPair;
  accountJwt: string;
  env: string;
}): string {
  return [
    `# Generated by \`warden nats setup\` for env ${parts.env}. Do not edit: run the command again.`,
    '# Operator mode: every client presents a user JWT signed by the Warden account (or, for',
    '# agents, its scoped signing key, whose template sets their permissions) and proves it holds',
    "# the user's nkey.",
    `operator: "${parts.operatorJwt}"`,
    `system_account: ${parts.system.getPublicKey()}`,
    '',
    '# Accounts are preloaded from this file (no account server): a changed account JWT (a new',
    '# signing key, a revocation) takes effect with `nats-server --signal reload`.',
    'resolver: MEMORY',
    'resolver_preload: {',
    `  # SYS (server events; no JetStream)`,
    `  ${parts.system.getPublicKey()}: "${parts.systemJwt}"`,
    `  # warden-${parts.env} (every service and agent; JetStream on)`,
    `  ${parts.account.getPublicKey()}: "${parts.accountJwt}"`,
    '}',
    '',
  ].join('\n');
}

/** A server config that runs the setup on its own, as deploy/nats/nats-server.conf does. */
function standaloneServerConf(): string {
  return [
    '# Generated by `warden nats setup`: the setup on its own, for a quick try.',
    '# Production runs deploy/nats/nats-server.conf, which includes auth.conf the same way.',
    'listen: 127.0.0.1:4222',
    'jetstream {',
    '  store_dir: "./jetstream"',
    '}',
    `include "./${SETUP_FILES.authConf}"`,
    '',
  ].join('\n');
}
