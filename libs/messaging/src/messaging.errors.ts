/**
 * Why a messaging operation failed. The same strings appear in logs and, where an event records a
 * failure, in its reason code.
 */
export type MessagingErrorCode =
  /** Nothing answered at the NATS URL (not started, wrong URL, firewall). */
  | 'nats_unreachable'
  /** A NATS server answered but refused the connection (credentials, permissions, TLS). */
  | 'nats_rejected'
  /** A NATS server answered, but without JetStream (started without `-js`). */
  | 'jetstream_unavailable'
  /** A producer tried to publish an event that breaks its contract: a bug, never retried. */
  | 'invalid_event'
  /** A name or option NATS would refuse (durable name, bucket name, window). */
  | 'invalid_config'
  /** The stream, a durable or a bucket could not be created or brought to the wanted config. */
  | 'provision_failed'
  /** JetStream did not confirm a publish (no stream, timeout, disconnected). */
  | 'publish_failed'
  /** A compare-and-set kept losing to concurrent writers until its attempts ran out. */
  | 'cas_conflict';

const RETRYABLE: Record<MessagingErrorCode, boolean> = {
  nats_unreachable: true,
  nats_rejected: false,
  jetstream_unavailable: false,
  invalid_event: false,
  invalid_config: false,
  provision_failed: false,
  publish_failed: true,
  cas_conflict: true,
};

/** An error of `@warden/messaging`: a stable `code`, whether retrying may help, and the cause. */
export class MessagingError extends Error {
  override readonly name = 'MessagingError';
  readonly code: MessagingErrorCode;
  /** Whether the same call may succeed later (the server comes back, the conflict clears). */
  readonly retryable: boolean;

  constructor(
    code: MessagingErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE[code];
  }

  /** Nothing answered at `servers`; the message says what to do about it. */
  static natsUnreachable(servers: readonly string[], cause: unknown): MessagingError {
    return new MessagingError(
      'nats_unreachable',
      `no NATS server answers at ${servers.join(', ')} (${messageOf(cause)}): start one with JetStream enabled (\`nats-server -js\`), or set NATS_URL to a server that is running`,
      { cause },
    );
  }

  /** The server at `servers` has JetStream disabled. */
  static jetstreamUnavailable(servers: readonly string[], cause?: unknown): MessagingError {
    return new MessagingError(
      'jetstream_unavailable',
      `the NATS server at ${servers.join(', ')} has JetStream disabled: restart it with \`-js\`, or point NATS_URL at one that has it`,
      { cause },
    );
  }

  /** An event that fails its contract, with the reason code of `parseEvent` and its detail. */
  static invalidEvent(type: string, reason: string, detail: string): MessagingError {
    return new MessagingError(
      'invalid_event',
      `refusing to publish an invalid ${type} event (${reason}): ${detail}`,
    );
  }
}

/** Whether `error` is a {@link MessagingError}, optionally of one code. */
export function isMessagingError(
  error: unknown,
  code?: MessagingErrorCode,
): error is MessagingError {
  return error instanceof MessagingError && (code === undefined || error.code === code);
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
