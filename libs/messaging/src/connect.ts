import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  errors,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import { MessagingError, messageOf } from './messaging.errors.js';

/** Options of {@link connectNats}: NATS connection options, with `servers` and `name` required. */
export type ConnectNatsOptions = Omit<NodeConnectionOptions, 'servers' | 'name'> & {
  /** One URL or several (`nats://127.0.0.1:4222`). */
  servers: string | string[];
  /** The connection name shown by the server's monitoring (`policy-decision`). */
  name: string;
  /** Fail when the server has JetStream disabled. Default `true`: every Warden process needs it. */
  requireJetStream?: boolean;
  /**
   * A NATS `.creds` file (user JWT + seed) for a server with scoped access (deploy/nats). The
   * file is read once here; its seed signs the server's nonce and never leaves the process.
   */
  credsFile?: string;
};

/**
 * Connects to NATS. A service keeps reconnecting forever once connected (a NATS restart must not
 * end it), but the first connection fails fast: when nothing answers it throws a
 * {@link MessagingError} `nats_unreachable` that names the URL tried and what to do.
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const { requireJetStream = true, credsFile, ...connectOptions } = options;
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
  if (credsFile !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(credsFile);
    } catch (error) {
      throw new MessagingError(
        'invalid_config',
        `cannot read the NATS credentials file ${credsFile}: ${messageOf(error)}`,
        { cause: error },
      );
    }
    connectOptions.authenticator = credsAuthenticator(creds);
  }
  let nc: NatsConnection;
  try {
    // noAsyncTraces: nats.js otherwise builds an Error (a stack trace) for every request and
    // publish, in case it times out; a CPU profile of the governed path showed it at about 12 %
    // of each service's time. Errors keep their messages, only the async call site goes.
    nc = await connect({ maxReconnectAttempts: -1, noAsyncTraces: true, ...connectOptions });
  } catch (error) {
    if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError) {
      throw MessagingError.natsUnreachable(servers, error);
    }
    throw new MessagingError(
      'nats_rejected',
      `the NATS server at ${servers.join(', ')} refused the connection: ${messageOf(error)}`,
      { cause: error },
    );
  }
  // The INFO the server sends on connect says whether JetStream is on: no extra round trip.
  if (requireJetStream && nc.info?.jetstream !== true) {
    await nc.close();
    throw MessagingError.jetstreamUnavailable(servers);
  }
  return nc;
}
