import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Faults } from './domain/faults.js';
import { BearerAuth } from './http/auth.js';
import { Router } from './http/router.js';
import { TicketStore } from './infra/ticket-store.js';
import { createLogger, type LogSink } from './log.js';
import { TicketService } from './ticket-service.js';

/** How to start a helpdesk (`main.ts` builds this from the environment). */
export interface HelpdeskOptions {
  /** Directory of the data file; created and seeded when missing. */
  readonly dataDir: string;
  /** The static API token, also the HS256 key of per-call JWTs. */
  readonly apiToken: string;
  /** Token of the `/_admin` routes; without one they answer 404. */
  readonly adminToken?: string;
  /** Default 0: a free port (see `port` of the result). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Where JSON log lines go; default stdout. */
  readonly log?: LogSink;
}

/** A helpdesk listening. */
export interface RunningHelpdesk {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish (their writes are on disk), then resolves. */
  stop(): Promise<void>;
}

// How long stop() waits for keep-alive connections to go quiet before cutting them.
const CLOSE_GRACE_MS = 2_000;

/**
 * Starts the reference helpdesk in this process: opens (or seeds) the data file, then listens.
 *
 * @example
 * const helpdesk = await startHelpdesk({ dataDir, apiToken, adminToken });
 * await fetch(`${helpdesk.url}/tickets/1`, { headers: { authorization: `Bearer ${apiToken}` } });
 * await helpdesk.stop();
 */
export async function startHelpdesk(options: HelpdeskOptions): Promise<RunningHelpdesk> {
  if (options.apiToken === '') throw new Error('startHelpdesk: apiToken must not be empty');
  const log = createLogger(options.log);
  const store = await TicketStore.open(options.dataDir);
  const router = new Router({
    tickets: new TicketService(store),
    store,
    auth: new BearerAuth(options.apiToken),
    adminToken: options.adminToken,
    faults: new Faults(),
    log,
  });

  const inFlight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const handled = router.handle(req, res).catch((error: unknown) => {
      log.error('request crashed', { error: error instanceof Error ? error.message : 'unknown' });
      res.destroy();
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('listening', { port, host, data_dir: options.dataDir });

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    const closed = new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    server.closeIdleConnections();
    // A held write may outlive its connection (the caller gave up): it is finished, not dropped.
    await Promise.allSettled(inFlight);
    await store.flushed();
    server.closeIdleConnections();
    const cut = setTimeout(() => {
      server.closeAllConnections();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(cut);
    log.info('stopped');
  };
  return {
    url,
    port,
    stop: () => (stopping ??= stop()),
  };
}
