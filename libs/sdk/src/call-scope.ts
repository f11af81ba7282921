import { CallTimeoutError, WardenConnectionError } from './errors.js';

/**
 * One call's deadline and cancellation: whatever the call awaits is raced with {@link ended},
 * which rejects with a {@link CallTimeoutError} when the deadline passes, or with the client's
 * close error. Plain timers and one promise per call, no `AbortSignal.any` (whose dependants a
 * long-lived signal keeps alive on some Node versions).
 */
export class CallScope {
  /** Rejects when the call must stop waiting; never resolves. */
  readonly ended: Promise<never>;
  private fail!: (error: Error) => void;
  private timer: NodeJS.Timeout;

  /** @internal Made by {@link CallRegistry.begin}. */
  constructor(
    private readonly registry: Set<CallScope>,
    intentId: string,
    timeoutMs: number,
  ) {
    this.ended = new Promise<never>((_, reject) => {
      this.fail = reject;
    });
    // Nobody may be racing it at the moment it rejects.
    this.ended.catch(() => undefined);
    this.timer = setTimeout(() => {
      this.fail(new CallTimeoutError(intentId, timeoutMs));
    }, timeoutMs);
    registry.add(this);
  }

  /** `work`, or the reason the call had to stop waiting for it, whichever comes first. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.ended]);
  }

  /**
   * Replaces the deadline: from now, the call ends after `timeoutMs` with the error `onTimeout`
   * makes (a call that saw its approval requested waits as long as `waitForApproval` says).
   */
  restart(timeoutMs: number, onTimeout: () => Error): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fail(onTimeout());
    }, timeoutMs);
  }

  /** Ends the call with `error` (the client closed). */
  cancel(error: Error): void {
    this.fail(error);
  }

  /** The call is over: stops its timer. */
  finish(): void {
    clearTimeout(this.timer);
    this.registry.delete(this);
  }
}

/** The calls of one client still in progress, so closing the client can end them all. */
export class CallRegistry {
  private readonly open = new Set<CallScope>();
  private closed = false;

  /** Starts a call with a deadline. @throws WardenConnectionError once the client is closed. */
  begin(intentId: string, timeoutMs: number): CallScope {
    if (this.closed) throw WardenConnectionError.closed();
    return new CallScope(this.open, intentId, timeoutMs);
  }

  /** Whether the client was closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends every call in progress with the close error, and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const scope of [...this.open]) {
      scope.cancel(WardenConnectionError.closed());
      scope.finish();
    }
  }
}
