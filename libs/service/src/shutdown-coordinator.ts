import type { Logger } from '@warden/telemetry';
import { ShutdownInProgressError } from './service.errors.js';

/** The signals a Warden process shuts down on: SIGTERM from an orchestrator, SIGINT from Ctrl-C. */
export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

const SIGNAL_NUMBER = { SIGINT: 2, SIGTERM: 15 } as const satisfies Record<ShutdownSignal, number>;

/** One thing the coordinator stops: in practice one Nest application (one service). */
export interface ShutdownParticipant {
  readonly name: string;
  /** Called for every participant before any is closed: `/readyz` turns 503 first. */
  markNotReady(): void;
  /** Runs the participant's own shutdown (Nest: destroy hooks, then HTTP close, then shutdown hooks). */
  close(signal?: ShutdownSignal): Promise<void>;
  /** What is still running inside it, named for the log line of a stuck shutdown. */
  pending?(): readonly string[];
}

/** Where signals come from: `process` in production, a fake in unit tests. */
export interface SignalSource {
  on(signal: ShutdownSignal, listener: () => void): unknown;
  off(signal: ShutdownSignal, listener: () => void): unknown;
}

/** Options of {@link ShutdownCoordinator}. */
export interface ShutdownCoordinatorOptions {
  logger: Logger;
  /** Longest a whole shutdown may take before the process exits anyway; default 15 000 ms. */
  timeoutMs?: number;
  /** Ends the process; default `process.exit`. */
  exit?: (code: number) => void;
  /** Default `process`. */
  signals?: SignalSource;
}

/** Default bound on a whole shutdown, below Kubernetes' 30 s grace period with room to spare. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 15_000;

/** Exit code when the shutdown timed out or a participant failed to close. */
export const EXIT_SHUTDOWN_FAILED = 1;

type State = 'running' | 'stopping' | 'exited';

/**
 * Owns the process's SIGTERM/SIGINT handlers and the order of a graceful stop, for one service or
 * for several in one process (the embedded `warden up`): there is one set of handlers whatever the
 * number of services.
 *
 * On the first signal: every participant is marked not ready, then all are closed concurrently
 * (their hooks drain consumers and flush writers), then the finalizers run (telemetry flush), then
 * the process exits 0 (1 if a participant failed to close). A second signal, or a shutdown that
 * exceeds `timeoutMs`, exits at once with a non-zero code (128 + signal number, or 1) and a log line
 * naming what was still running.
 *
 * Handlers are installed when the first participant registers and removed when the last one leaves
 * on its own, so a process that closed its services itself ends normally on a signal.
 */
export class ShutdownCoordinator {
  private readonly logger: Logger;
  private readonly exitProcess: (code: number) => void;
  private readonly signals: SignalSource;
  private readonly participants = new Set<ShutdownParticipant>();
  private readonly closing = new Set<ShutdownParticipant>();
  private readonly finalizers = new Map<string, () => Promise<void>>();
  private readonly runningFinalizers = new Set<string>();
  private readonly listeners = new Map<ShutdownSignal, () => void>();
  private state: State = 'running';
  private stopping: Promise<number> | undefined;
  private timeout: number;
  private exitCode: number | undefined;

  constructor(options: ShutdownCoordinatorOptions) {
    this.logger = options.logger.child({ component: 'shutdown' });
    this.timeout = options.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    this.exitProcess =
      options.exit ??
      ((code) => {
        process.exit(code);
      });
    this.signals = options.signals ?? process;
  }

  /** The bound on a whole shutdown, in ms. */
  get timeoutMs(): number {
    return this.timeout;
  }

  /**
   * Raises the bound (never lowers it): with several services in one process, the one that needs
   * the longest drain sets it.
   */
  requireTimeout(timeoutMs: number): void {
    this.timeout = Math.max(this.timeout, timeoutMs);
  }

  /** Whether a shutdown has started. */
  get isStopping(): boolean {
    return this.state !== 'running';
  }

  /**
   * Adds a participant; returns a function that removes it (call it once the participant closed
   * itself).
   * @throws ShutdownInProgressError when the process is already shutting down.
   */
  register(participant: ShutdownParticipant): () => void {
    if (this.state !== 'running') throw new ShutdownInProgressError(participant.name);
    this.participants.add(participant);
    this.installHandlers();
    return () => {
      this.participants.delete(participant);
      // During a shutdown the handlers stay: a second signal must still force the exit.
      if (this.participants.size === 0 && this.state === 'running') this.removeHandlers();
    };
  }

  /**
   * Adds a step run once every participant has closed, e.g. flushing telemetry. Steps with the
   * same name are registered once (each embedded service may ask for the same flush).
   */
  addFinalizer(name: string, finalize: () => Promise<void>): void {
    if (!this.finalizers.has(name)) this.finalizers.set(name, finalize);
  }

  /**
   * Runs the shutdown sequence (once; later calls return the same promise) and ends the process.
   * Resolves with the exit code passed to `exit`.
   */
  shutdown(signal?: ShutdownSignal): Promise<number> {
    this.stopping ??= this.runShutdown(signal);
    return this.stopping;
  }

  /** Removes the signal handlers (tests, or a host that takes over). */
  dispose(): void {
    this.removeHandlers();
  }

  /** What has not finished yet, e.g. `trace-collector (ClickhouseWriter.beforeApplicationShutdown)`. */
  stillRunning(): string[] {
    const services = [...this.closing].map((participant) => {
      const inside = participant.pending?.() ?? [];
      return inside.length === 0 ? participant.name : `${participant.name} (${inside.join(', ')})`;
    });
    return [...services, ...[...this.runningFinalizers].map((name) => `finalizer ${name}`)];
  }

  private async runShutdown(signal: ShutdownSignal | undefined): Promise<number> {
    this.state = 'stopping';
    const started = Date.now();
    const participants = [...this.participants];
    this.logger.info(
      { signal, services: participants.map((p) => p.name), timeout_ms: this.timeout },
      'shutting down',
    );

    // Readiness first, for everyone, before anything starts closing.
    for (const participant of participants) {
      try {
        participant.markNotReady();
      } catch (error) {
        this.logger.error({ err: error, service: participant.name }, 'could not mark not ready');
      }
    }

    const work = this.closeAll(participants, signal);
    let timer: NodeJS.Timeout | undefined;
    // Not unref'd: if a hook waits on something that holds no handle, this timer is what ends the
    // process, instead of Node exiting 0 on an empty loop with the hook unfinished.
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, this.timeout);
    });
    const outcome = await Promise.race([work, timedOut]);
    clearTimeout(timer);

    if (outcome === 'timeout') {
      const stillRunning = this.stillRunning();
      this.logger.error(
        { still_running: stillRunning, timeout_ms: this.timeout },
        `shutdown timed out after ${this.timeout} ms; still running: ${describe(stillRunning)}`,
      );
      this.exit(EXIT_SHUTDOWN_FAILED);
    } else if (this.exitCode === undefined) {
      // (Otherwise a second signal already ended it.)
      this.logger.info({ code: outcome, duration_ms: Date.now() - started }, 'shutdown complete');
      this.exit(outcome);
    }
    return this.exitCode ?? EXIT_SHUTDOWN_FAILED;
  }

  /** Closes every participant concurrently, then runs the finalizers; resolves the exit code. */
  private async closeAll(
    participants: readonly ShutdownParticipant[],
    signal: ShutdownSignal | undefined,
  ): Promise<number> {
    let failed = false;
    await Promise.all(
      participants.map(async (participant) => {
        this.closing.add(participant);
        try {
          await participant.close(signal);
        } catch (error) {
          failed = true;
          this.logger.error({ err: error, service: participant.name }, 'service failed to close');
        } finally {
          this.closing.delete(participant);
        }
      }),
    );
    // After the services: their hooks may still emit spans while they drain.
    for (const [name, finalize] of this.finalizers) {
      this.runningFinalizers.add(name);
      try {
        await finalize();
      } catch (error) {
        failed = true;
        this.logger.error({ err: error, finalizer: name }, 'shutdown step failed');
      } finally {
        this.runningFinalizers.delete(name);
      }
    }
    return failed ? EXIT_SHUTDOWN_FAILED : 0;
  }

  private exit(code: number): void {
    if (this.state === 'exited') return;
    this.state = 'exited';
    this.exitCode = code;
    this.removeHandlers();
    this.logger.flush();
    this.exitProcess(code);
  }

  private onSignal(signal: ShutdownSignal): void {
    if (this.state === 'running') {
      void this.shutdown(signal);
      return;
    }
    if (this.state === 'exited') return;
    const stillRunning = this.stillRunning();
    this.logger.error(
      { signal, still_running: stillRunning },
      `second ${signal} during shutdown: exiting now; still running: ${describe(stillRunning)}`,
    );
    this.exit(128 + SIGNAL_NUMBER[signal]);
  }

  private installHandlers(): void {
    if (this.listeners.size > 0) return;
    for (const signal of Object.keys(SIGNAL_NUMBER) as ShutdownSignal[]) {
      const listener = () => {
        this.onSignal(signal);
      };
      this.listeners.set(signal, listener);
      this.signals.on(signal, listener);
    }
  }

  private removeHandlers(): void {
    for (const [signal, listener] of this.listeners) this.signals.off(signal, listener);
    this.listeners.clear();
  }
}

function describe(stillRunning: readonly string[]): string {
  return stillRunning.length === 0 ? 'nothing identifiable' : stillRunning.join('; ');
}

// On globalThis: one coordinator per process, even if this library is loaded twice.
const COORDINATOR_KEY = Symbol.for('warden.service.shutdown-coordinator');
type GlobalWithCoordinator = typeof globalThis & { [COORDINATOR_KEY]?: ShutdownCoordinator };

/**
 * The process's coordinator, created on first use with these options (later calls only raise its
 * timeout). The embedded runner may call it first, with its own logger, before starting services.
 */
export function processShutdownCoordinator(
  options: ShutdownCoordinatorOptions,
): ShutdownCoordinator {
  const global = globalThis as GlobalWithCoordinator;
  const existing = global[COORDINATOR_KEY];
  if (existing !== undefined) {
    if (options.timeoutMs !== undefined) existing.requireTimeout(options.timeoutMs);
    return existing;
  }
  const created = new ShutdownCoordinator(options);
  global[COORDINATOR_KEY] = created;
  stopWhenParentGoes(created, options.logger);
  return created;
}

/**
 * A service `warden up --split` started holds an IPC channel to it. When warden up dies without
 * stopping it (a crash, SIGKILL), the channel closes: the service then stops as on SIGTERM, rather
 * than live on as an orphan holding its port and its consumers. Without a channel (an orchestrator,
 * a shell) nothing changes.
 */
function stopWhenParentGoes(coordinator: ShutdownCoordinator, logger: Logger): void {
  if (process.channel === undefined) return;
  process.channel.unref(); // the channel alone must not keep the process alive
  process.once('disconnect', () => {
    logger.warn('the process that started this one is gone: shutting down');
    void coordinator.shutdown();
  });
}
