import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  connect,
  credsAuthenticator,
  jwtAuthenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import { terminate, track } from './nats-server.js';
import { getFreePort } from './ports.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { sleep } from './wait-for.js';

/**
 * The committed server config: the harness runs it, not a copy written for tests, so a change to
 * deploy/nats is exercised by every test that starts a scoped server. `src/` and `dist/` sit at
 * the same depth, so the path holds for both.
 */
const DEPLOY_CONF = resolve(import.meta.dirname, '../../../deploy/nats/nats-server.conf');

/**
 * What the harness uses of `@warden/nats-auth`, passed in by the caller (`import * as natsAuth
 * from '@warden/nats-auth'`) instead of imported: nats-auth's own tests use this library, and the
 * tests of libraries nats-auth depends on do too, so an import here would close a dependency
 * cycle that Nx refuses to build (`testing → nats-auth → messaging → testing`).
 *
 * @typeParam S the service names (`WARDEN_SERVICES`)
 */
export interface NatsAuthKit<S extends string> {
  readonly WARDEN_SERVICES: readonly S[];
  readonly SETUP_FILES: { readonly brokerSigningSeed: string; readonly accountSeed: string };
  readonly BOOTSTRAP_INBOX_PREFIX: string;
  generateNatsSetup(options: { dir: string; env: string }): Promise<GeneratedNatsSetup>;
  serviceInboxPrefix(service: S): string;
  cliPermissions(env: string): { readonly inboxPrefix: string };
}

/** What the harness reads of `NatsSetup` (the generator's result). */
export interface GeneratedNatsSetup {
  readonly dir: string;
  readonly env: string;
  readonly accountPublicKey: string;
  /** Path of each principal's `.creds` file. */
  readonly creds: Readonly<Record<string, string>>;
}

/** A principal with a generated `.creds` file: a service, the agent hosts' bootstrap, the CLI. */
export type ScopedPrincipal<S extends string = string> = S | 'bootstrap' | 'cli';

/** A nats-server running deploy/nats/nats-server.conf with a freshly generated setup. */
export interface ScopedNats<S extends string = string> {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** The env every credential is scoped to. */
  readonly env: string;
  /** What `generateNatsSetup` wrote (public keys, the path of each principal's `.creds`). */
  readonly setup: GeneratedNatsSetup;
  /** The `.creds` file of each principal. */
  readonly creds: Readonly<Record<ScopedPrincipal<S>, string>>;
  /** The Warden account's public key (`A…`): the broker's `IDENTITY_NATS_ACCOUNT`. */
  readonly accountPublicKey: string;
  /** The account signing seed (`SA…`): the broker's `IDENTITY_NATS_ACCOUNT_SIGNING_SEED`. */
  readonly brokerSigningSeed: string;
  /** The account's own seed (`SA…`), for tests that mint users of their own (an observer). */
  readonly accountSeed: string;
  /**
   * What a service process needs on this server: `NATS_URL`, `NATS_CREDS` = its `.creds`, and for
   * the identity broker the account signing seed and account, so it mints agents' NATS JWTs.
   */
  serviceEnv(service: S): Record<string, string>;
  /** The inbox prefix the permissions of `principal` allow (`_INBOX_svc_<service>`, …). */
  inboxPrefix(principal: ScopedPrincipal<S>): string;
  /** Connects with a principal's `.creds` and (by default) the inbox prefix its permissions allow. */
  connectCreds(principal: ScopedPrincipal<S>, inboxPrefix?: string): Promise<NatsConnection>;
  /** Connects with a user JWT and the seed of its nkey (how an agent connects). */
  connectJwt(jwt: string, seed: Uint8Array, inboxPrefix: string): Promise<NatsConnection>;
  /** Stops the server and removes the setup and the store. */
  stop(): Promise<void>;
}

/**
 * Starts a NATS server with scoped access as a deployment runs it (DESIGN §6, deploy/nats):
 * generates a setup for `env` into `<tmp>/generated` (`warden nats setup`), puts the committed
 * deploy/nats/nats-server.conf beside it (its `include "./generated/auth.conf"` then resolves as
 * in a deployment) and starts `nats-server` on free ports with its store in the temp dir.
 *
 * {@link spawnNatsServer} cannot be used: it probes readiness anonymously, which operator mode
 * refuses, and passes `-sd`, which nats-server refuses beside the file's `store_dir`.
 *
 * @example
 * import * as natsAuth from '@warden/nats-auth';
 * const nats = await startScopedNats('prod', natsAuth);
 * const broker = await startService('identity-broker', nats.serviceEnv('identity-broker'));
 */
export async function startScopedNats<S extends string>(
  env: string,
  kit: NatsAuthKit<S>,
): Promise<ScopedNats<S>> {
  const dir = await makeTempDir('scoped-nats');
  try {
    const setup = await kit.generateNatsSetup({ dir: join(dir, 'generated'), env });
    const conf = join(dir, 'nats-server.conf');
    // The one change to the committed file: the store goes to the temp dir.
    const committed = await readFile(DEPLOY_CONF, 'utf8');
    const storeDir = join(dir, 'store');
    const text = committed.replace(/store_dir: ".*"/, `store_dir: ${JSON.stringify(storeDir)}`);
    if (text === committed) throw new Error(`no store_dir in ${DEPLOY_CONF}`);
    await writeFile(conf, text);
    const secret = async (file: string): Promise<string> =>
      (await readFile(join(setup.dir, file), 'utf8')).trim();
    return await launch(kit, {
      env,
      dir,
      conf,
      setup,
      creds: credsOf(kit, setup),
      brokerSigningSeed: await secret(kit.SETUP_FILES.brokerSigningSeed),
      accountSeed: await secret(kit.SETUP_FILES.accountSeed),
    });
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

function credsOf<S extends string>(
  kit: NatsAuthKit<S>,
  setup: GeneratedNatsSetup,
): Record<ScopedPrincipal<S>, string> {
  const principals: ScopedPrincipal<S>[] = [...kit.WARDEN_SERVICES, 'bootstrap', 'cli'];
  return Object.fromEntries(
    principals.map((principal) => {
      const path = setup.creds[principal];
      if (path === undefined) throw new Error(`the setup wrote no creds for ${principal}`);
      return [principal, path];
    }),
  ) as Record<ScopedPrincipal<S>, string>;
}

interface LaunchParts<S extends string> {
  env: string;
  dir: string;
  conf: string;
  setup: GeneratedNatsSetup;
  creds: Record<ScopedPrincipal<S>, string>;
  brokerSigningSeed: string;
  accountSeed: string;
}

async function launch<S extends string>(
  kit: NatsAuthKit<S>,
  parts: LaunchParts<S>,
): Promise<ScopedNats<S>> {
  const { env, creds } = parts;
  const isService = (principal: ScopedPrincipal<S>): principal is S =>
    (kit.WARDEN_SERVICES as readonly string[]).includes(principal);
  const inboxPrefix = (principal: ScopedPrincipal<S>): string => {
    if (isService(principal)) return kit.serviceInboxPrefix(principal);
    return principal === 'cli' ? kit.cliPermissions(env).inboxPrefix : kit.BOOTSTRAP_INBOX_PREFIX;
  };
  const firstService = kit.WARDEN_SERVICES[0];
  if (firstService === undefined) throw new Error('no services to probe the server with');
  let url = '';
  let child: ChildProcess | undefined;
  const connectCreds = async (
    principal: ScopedPrincipal<S>,
    prefix = inboxPrefix(principal),
  ): Promise<NatsConnection> =>
    connect({
      servers: url,
      authenticator: credsAuthenticator(await readFile(creds[principal])),
      inboxPrefix: prefix,
      reconnect: false,
      name: principal,
    });

  // A free port can be taken between the probe and the spawn: retry with another one.
  for (let attempt = 1; child === undefined; attempt++) {
    const port = await getFreePort();
    // The committed config serves monitoring on 8222: a free port instead, so servers coexist.
    const monitorPort = await getFreePort();
    url = `nats://127.0.0.1:${port}`;
    try {
      child = await spawnReady(
        ['-c', parts.conf, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)],
        // Any service will do; the first one listed.
        () => connectCreds(firstService),
      );
    } catch (error) {
      const portTaken = error instanceof Error && /address already in use/i.test(error.message);
      if (!portTaken || attempt >= 5) throw error;
    }
  }
  const server = child;

  return {
    url,
    env,
    setup: parts.setup,
    creds,
    accountPublicKey: parts.setup.accountPublicKey,
    brokerSigningSeed: parts.brokerSigningSeed,
    accountSeed: parts.accountSeed,
    serviceEnv(service) {
      return {
        NATS_URL: url,
        NATS_CREDS: creds[service],
        ...(service === 'identity-broker'
          ? {
              IDENTITY_NATS_ACCOUNT_SIGNING_SEED: parts.brokerSigningSeed,
              IDENTITY_NATS_ACCOUNT: parts.setup.accountPublicKey,
            }
          : {}),
      };
    },
    inboxPrefix,
    connectCreds,
    connectJwt: (jwt, seed, prefix) =>
      connect({
        servers: url,
        authenticator: jwtAuthenticator(jwt, seed),
        inboxPrefix: prefix,
        reconnect: false,
      }),
    async stop() {
      await terminate(server, 'SIGTERM');
      await removeTempDir(parts.dir);
    },
  };
}

/**
 * Spawns `nats-server args` and resolves once `probe` connects (with a principal's credentials:
 * operator mode refuses anonymous clients) and the server reports JetStream.
 */
async function spawnReady(
  args: string[],
  probe: () => Promise<NatsConnection>,
): Promise<ChildProcess> {
  const child = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  // Keep the tail of the server's log to explain a failed start.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));

  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`could not run nats-server (${spawnError.message})`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nats-server ${args.join(' ')} exited before it was ready:\n${output}`);
    }
    try {
      const nc = await probe();
      const ready = nc.info?.jetstream === true;
      await nc.close();
      if (ready) return child;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  await terminate(child, 'SIGKILL');
  throw new Error(`nats-server was not ready within 10 s:\n${output}`);
}
