/**
 * Reason codes the adapters put on a failed {@link AdapterResult}, beside the executor's own
 * (`domain/reasons.ts`). Same snake_case strings as every reason in Warden's events.
 */
export const AdapterReason = {
  /** The call's args cannot fill the section's templates (absent, not a scalar, a `..` segment). */
  invalidArgs: 'invalid_args',
  /** The SSRF guard refused the address: nothing was sent. */
  destinationRefused: 'destination_refused',
  /** A redirect left the upstream's hosts, or went on too long. */
  redirectRefused: 'redirect_refused',
  /** The upstream answered 4xx: it refused the request. */
  upstreamRejected: 'upstream_rejected',
  /** The upstream answered 5xx (or the NATS responder reported a failure). */
  upstreamError: 'upstream_error',
  /** Nobody could be reached (DNS failure, connection refused, no NATS responders): nothing was sent. */
  upstreamUnavailable: 'upstream_unavailable',
  /** The answer was over the section's `max_response_bytes`. */
  responseTooLarge: 'response_too_large',
  /** The answer said it was JSON and was not. */
  invalidResponse: 'invalid_response',
  /** The section needs a secret and the call came without one. */
  secretMissing: 'secret_missing',
} as const;

/** One of {@link AdapterReason}. */
export type AdapterReason = (typeof AdapterReason)[keyof typeof AdapterReason];

/** Why nobody knows whether an upstream applied a call. */
export type OutcomeUnknownCause = 'timeout' | 'connection_lost' | 'invalid_reply';

/**
 * Thrown by an adapter when a request may have reached the upstream and no answer came back (a
 * timeout, a connection dropped mid-request, a NATS reply that is not a result). The adapter does
 * not know whether the tool writes; the executor does, and maps a throw to `unansweredResult`
 * (`maybeApplied` for a write). The message never holds the secret or request headers.
 */
export class OutcomeUnknownError extends Error {
  override readonly name = 'OutcomeUnknownError';

  constructor(
    readonly unknownCause: OutcomeUnknownCause,
    message: string,
  ) {
    super(message);
  }

  static timeout(target: string, ms: number): OutcomeUnknownError {
    return new OutcomeUnknownError('timeout', `${target} did not answer within ${ms} ms`);
  }

  static connectionLost(target: string, detail: string): OutcomeUnknownError {
    return new OutcomeUnknownError('connection_lost', `${target}: connection lost (${detail})`);
  }

  static invalidReply(target: string, detail: string): OutcomeUnknownError {
    return new OutcomeUnknownError('invalid_reply', `${target} gave no valid result: ${detail}`);
  }
}

/** Whether `error` is an {@link OutcomeUnknownError}. */
export function isOutcomeUnknown(error: unknown): error is OutcomeUnknownError {
  return error instanceof OutcomeUnknownError;
}

const REDACTED = '[redacted]';

/**
 * Replaces every occurrence of each secret in `text` (an upstream may echo the Authorization header
 * back in an error body). Secrets shorter than 4 characters are replaced too: a short secret is
 * still a secret, even if the message becomes hard to read.
 */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let scrubbed = text;
  for (const secret of secrets) {
    if (secret === undefined || secret === '') continue;
    scrubbed = scrubbed.split(secret).join(REDACTED);
  }
  return scrubbed;
}
