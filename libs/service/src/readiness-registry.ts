import { ReadinessCheckExistsError } from './service.errors.js';

/** The outcome of one readiness check. */
export interface ReadinessResult {
  ok: boolean;
  /** Why it is not ready (or a useful fact when it is), for whoever reads `/readyz`. */
  detail?: string;
}

/**
 * A named check, e.g. "NATS connected", "event store open", "consumer running". Returning a
 * boolean is shorthand for `{ ok }`; throwing counts as not ready, with the error message as
 * detail.
 */
export type ReadinessCheck = () => ReadinessResult | boolean | Promise<ReadinessResult | boolean>;

/** What `/readyz` reports. */
export interface ReadinessReport {
  ok: boolean;
  checks: Record<string, ReadinessResult>;
}

/** Options of {@link ReadinessRegistry}. */
export interface ReadinessOptions {
  /** A check that takes longer counts as failed; default 2000 ms (a probe must answer promptly). */
  checkTimeoutMs?: number;
}

/** The name under which a process that is shutting down reports itself not ready. */
export const SHUTDOWN_CHECK = 'shutdown';

function normalise(value: ReadinessResult | boolean): ReadinessResult {
  return typeof value === 'boolean' ? { ok: value } : value;
}

/**
 * Where the parts of a service register what "ready to take work" means for them. One per Nest
 * application (injectable as `ReadinessRegistry` once `HealthModule.forRoot()` is imported, which
 * `runService` does); plain class so it can be built in a test without Nest.
 *
 * @example
 * constructor(readiness: ReadinessRegistry, nats: NatsConnection) {
 *   readiness.register('nats', () => ({ ok: !nats.isClosed(), detail: nats.getServer() }));
 * }
 */
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly checkTimeoutMs: number;
  private shuttingDown = false;

  constructor(options: ReadinessOptions = {}) {
    this.checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  }

  /**
   * Adds a named check; returns a function that removes it.
   * @throws ReadinessCheckExistsError when the name is taken.
   */
  register(name: string, check: ReadinessCheck): () => void {
    if (this.checks.has(name)) throw new ReadinessCheckExistsError(name);
    this.checks.set(name, check);
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name);
    };
  }

  /** The names of the registered checks. */
  get names(): string[] {
    return [...this.checks.keys()];
  }

  /**
   * From now on the service reports not ready, whatever its checks say. Called first on shutdown,
   * so a load balancer or orchestrator stops sending work before connections start draining.
   */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  /** Whether {@link markShuttingDown} was called. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Runs every check concurrently, each bounded by the timeout. Ready when all pass (and no
   * check registered means ready). While shutting down, the checks are not run: the components
   * they probe are being closed.
   */
  async check(): Promise<ReadinessReport> {
    if (this.shuttingDown) {
      return { ok: false, checks: { [SHUTDOWN_CHECK]: { ok: false, detail: 'shutting down' } } };
    }
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await this.run(check)] as const),
    );
    return { ok: entries.every(([, result]) => result.ok), checks: Object.fromEntries(entries) };
  }

  private async run(check: ReadinessCheck): Promise<ReadinessResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ReadinessResult>((resolve) => {
      timer = setTimeout(() => {
        resolve({ ok: false, detail: `timed out after ${this.checkTimeoutMs} ms` });
      }, this.checkTimeoutMs);
    });
    try {
      const result = Promise.resolve().then(check).then(normalise);
      return await Promise.race([result, timeout]);
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
