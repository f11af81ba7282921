import type { NatsConnection } from '@nats-io/transport-node';

/** A wait for the connection's next reconnect. */
export interface ReconnectWait {
  /** Resolves at the next reconnect (never, once the connection is closed). */
  readonly reconnected: Promise<void>;
  /** Stops waiting: call it when done, so a long-lived connection keeps no waits around. */
  cancel(): void;
}

/**
 * Follows the connection's state: whether it is up, and when it comes back after a disconnect. A
 * request nats.js buffered while the connection was down is not reliably sent after the reconnect
 * (a JetStream publish made during a NATS restart waited for its whole timeout, reproduced), so a
 * caller waiting on one sends it again at the reconnect instead.
 */
export class ConnectionWatch {
  private readonly listeners = new Set<() => void>();
  private readonly followers = new Set<() => void>();
  private connected = true;

  constructor(nc: NatsConnection) {
    void this.watch(nc);
  }

  /** Whether the connection is up (it was when the client connected). */
  get isConnected(): boolean {
    return this.connected;
  }

  /** Starts waiting for the next reconnect. */
  nextReconnect(): ReconnectWait {
    let listener: (() => void) | undefined;
    const reconnected = new Promise<void>((resolve) => {
      listener = resolve;
      this.listeners.add(resolve);
    });
    return {
      reconnected,
      cancel: () => {
        if (listener) this.listeners.delete(listener);
      },
    };
  }

  /**
   * Calls `listener` at every reconnect until the returned function is called. The outcome
   * readers use it to replace their consumers at once: after a server restart the old ones are
   * gone, and waiting for missed heartbeats to say so would hold every answer up.
   */
  onReconnect(listener: () => void): () => void {
    this.followers.add(listener);
    return () => {
      this.followers.delete(listener);
    };
  }

  private async watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.connected = false;
        if (status.type !== 'reconnect') continue;
        this.connected = true;
        const listeners = [...this.listeners];
        this.listeners.clear();
        for (const listener of listeners) listener();
        for (const follower of [...this.followers]) follower();
      }
    } catch {
      // The status iterator ends with the connection: nothing left to watch.
    }
  }
}
