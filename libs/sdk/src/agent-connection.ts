import { readFile } from 'node:fs/promises';
import { createUser } from '@nats-io/nkeys';
import { credsAuthenticator, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { connectNats, isMessagingError, type ConnectNatsOptions } from '@warden/messaging';
import { agentInboxPrefix, BOOTSTRAP_INBOX_PREFIX } from '@warden/nats-auth';
import { ConnectionWatch } from './connection-watch.js';
import { WardenConnectionError } from './errors.js';
import { TokenSource, type AgentCredential, type TokenRoute } from './token-source.js';

/**
 * Scoped NATS access (deploy/nats/README.md): the agent connects with its own short-lived NATS
 * credential, minted by the identity broker with each token, instead of an open connection.
 */
export interface ScopedNatsOptions {
  /**
   * The bootstrap credential `warden nats setup` writes (`creds/bootstrap.creds`), good only for
   * asking the identity broker for a first token: the path of the file, or its contents (text
   * that starts with `-----BEGIN NATS USER JWT-----`, e.g. from a secret store). Never logged.
   */
  readonly bootstrapCreds: string;
}

/** What {@link connectAgent} needs: the connection options of `Warden.connect`. */
export interface AgentConnectionOptions {
  readonly servers: string | string[];
  readonly env: string;
  readonly agentId: string;
  readonly credential: AgentCredential;
  readonly nats?: ScopedNatsOptions;
}

/** An agent's NATS connection, with a token source that already holds its first token. */
export interface AgentConnection {
  readonly nc: NatsConnection;
  readonly tokens: TokenSource;
  readonly connection: ConnectionWatch;
  /** The connection's inbox prefix (`_INBOX_agent_.<id>` under scoped access; nats.js's default otherwise). */
  readonly inboxPrefix: string | undefined;
  /** Whether the connection is the agent's own scoped one (it may then not delete consumers). */
  readonly scoped: boolean;
}

/** The marker that starts a `.creds` file: tells its contents from a path. */
const CREDS_MARKER = '-----BEGIN NATS USER JWT-----';

/**
 * Connects as the agent and gets its first token. Without `nats`: one connection to an open
 * server, as before scoped access existed. With `nats`: see {@link connectScoped}.
 *
 * @throws WardenConnectionError as `Warden.connect` documents.
 */
export function connectAgent(options: AgentConnectionOptions): Promise<AgentConnection> {
  return options.nats === undefined ? connectOpen(options) : connectScoped(options, options.nats);
}

async function connectOpen(options: AgentConnectionOptions): Promise<AgentConnection> {
  const { env, agentId, credential } = options;
  const nc = await dial({ servers: options.servers, name: `warden-sdk ${agentId}` });
  try {
    const tokens = new TokenSource({ env, agentId, credential, route: { nc, sealed: false } });
    await tokens.token();
    return {
      nc,
      tokens,
      connection: new ConnectionWatch(nc),
      inboxPrefix: undefined,
      scoped: false,
    };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

/**
 * The scoped flow: make a user nkey pair in memory (its seed never leaves the process), connect
 * with the bootstrap credential, ask for the first token with the nkey's public half and a
 * one-time sealing key, close that connection, and connect as the agent with the NATS JWT that
 * came with the token. Later tokens are asked for over the agent's own connection (its inbox is
 * its own: no sealing), and over a fresh bootstrap connection while that one is down (its JWT may
 * have expired meanwhile). Each reconnect presents the newest JWT.
 */
async function connectScoped(
  options: AgentConnectionOptions,
  scoped: ScopedNatsOptions,
): Promise<AgentConnection> {
  const { servers, env, agentId, credential } = options;
  const creds = await readCreds(scoped.bootstrapCreds);
  const inboxPrefix = agentInboxPrefix(agentId);
  const userKey = createUser();
  let agent: { nc: NatsConnection; connection: ConnectionWatch } | undefined;

  const bootstrap = async (): Promise<TokenRoute> => {
    const nc = await dial({
      servers,
      name: `warden-sdk bootstrap ${agentId}`,
      authenticator: credsAuthenticator(creds),
      inboxPrefix: BOOTSTRAP_INBOX_PREFIX,
      // One request, then closed: nothing to reconnect for, and no JetStream needed.
      reconnect: false,
      requireJetStream: false,
    });
    return { nc, sealed: true, release: () => nc.close() };
  };
  const tokens = new TokenSource({
    env,
    agentId,
    credential,
    natsPublicKey: userKey.getPublicKey(),
    route: () =>
      agent !== undefined && agent.connection.isConnected && !agent.nc.isClosed()
        ? Promise.resolve({ nc: agent.nc, sealed: false })
        : bootstrap(),
  });
  await tokens.token();

  let nc: NatsConnection | undefined;
  try {
    nc = await dial({
      servers,
      name: `warden-sdk ${agentId}`,
      // A function, so every reconnect presents the newest JWT: when the server ends the
      // connection of an expired one, the reconnect comes back with its successor.
      authenticator: jwtAuthenticator(() => tokens.natsJwt ?? '', userKey.getSeed()),
      inboxPrefix,
      // nats.js gives up after two authentication errors in a row; a JWT that expired while the
      // server was away is replaced (over the bootstrap user) by the token schedule meanwhile.
      ignoreAuthErrorAbort: true,
    });
    const connection = new ConnectionWatch(nc);
    agent = { nc, connection };
    tokens.keepFresh();
    return { nc, tokens, connection, inboxPrefix, scoped: true };
  } catch (error) {
    tokens.close();
    await nc?.close();
    throw error;
  }
}

/** Connects to NATS, mapping failures to the SDK's error. */
async function dial(options: ConnectNatsOptions): Promise<NatsConnection> {
  try {
    return await connectNats(options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = isMessagingError(error, 'nats_unreachable') ? 'nats_unreachable' : 'nats_rejected';
    throw new WardenConnectionError(code, message, { cause: error });
  }
}

/** The bootstrap `.creds`: the value itself when it is a creds file's text, else the file at that path. */
async function readCreds(value: string): Promise<Uint8Array> {
  if (value.includes(CREDS_MARKER)) return new TextEncoder().encode(value);
  try {
    return await readFile(value);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new WardenConnectionError(
      'invalid_options',
      `nats.bootstrapCreds: cannot read the bootstrap credentials file ${value} (${reason}); give the path of creds/bootstrap.creds from \`warden nats setup\`, or its contents`,
      { cause: error },
    );
  }
}
