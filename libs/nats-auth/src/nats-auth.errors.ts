/** Why minting or setup failed. */
export type NatsAuthErrorCode =
  /** A key or seed of the wrong kind, or malformed. */
  | 'invalid_key'
  /** An expiry in the past: the server would refuse the credential at once. */
  | 'invalid_expiry'
  /** An env, agent or service name that cannot be put into subjects. */
  | 'invalid_name'
  /** The setup directory already holds a setup (keys would be replaced). */
  | 'setup_exists';

/** An error of `@warden/nats-auth`, with a stable `code`. Messages never contain a seed. */
export class NatsAuthError extends Error {
  override readonly name = 'NatsAuthError';

  constructor(
    readonly code: NatsAuthErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** Whether `error` is a {@link NatsAuthError}, optionally with one of `codes`. */
export function isNatsAuthError(
  error: unknown,
  ...codes: NatsAuthErrorCode[]
): error is NatsAuthError {
  return error instanceof NatsAuthError && (codes.length === 0 || codes.includes(error.code));
}
