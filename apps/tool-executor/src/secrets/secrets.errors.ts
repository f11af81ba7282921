/**
 * Why a credential store operation failed. No message of these errors ever holds a secret value:
 * they name the ref and version at most.
 */
export type SecretsErrorCode =
  /** `rotate` or `resolve` of a ref that is not stored. */
  | 'secret_not_found'
  /** A stored value does not open: another master key, another env or ref, or tampering. */
  | 'secret_unreadable'
  /** EXECUTOR_MASTER_KEY is unset, so nothing can be sealed or opened. */
  | 'master_key_missing'
  /** EXECUTOR_MASTER_KEY is not 32 bytes of base64. */
  | 'master_key_invalid'
  /** Another writer changed the ref between this change's read and its write. */
  | 'secret_conflict';

const RETRYABLE: Record<SecretsErrorCode, boolean> = {
  secret_not_found: false,
  secret_unreadable: false,
  master_key_missing: false,
  master_key_invalid: false,
  secret_conflict: true,
};

/** An error of the executor's credential store: a stable `code`, whether a retry may help, the cause. */
export class SecretsError extends Error {
  override readonly name = 'SecretsError';
  readonly retryable: boolean;

  constructor(
    readonly code: SecretsErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = RETRYABLE[code];
  }

  static notFound(ref: string): SecretsError {
    return new SecretsError('secret_not_found', `no secret ${ref} is stored in this env`);
  }

  /** `cause` is deliberately not kept: a crypto library's error could quote its input. */
  static unreadable(ref: string, version: number, why: string): SecretsError {
    return new SecretsError(
      'secret_unreadable',
      `secret ${ref} (version ${version}) does not open: ${why}`,
    );
  }

  static masterKeyMissing(): SecretsError {
    return new SecretsError(
      'master_key_missing',
      'the tool executor has no EXECUTOR_MASTER_KEY: set it to 32 random bytes in base64 (openssl rand -base64 32), the same on every replica of this env',
    );
  }

  static conflict(ref: string): SecretsError {
    return new SecretsError(
      'secret_conflict',
      `secret ${ref} was changed by someone else at the same time: look at it again and retry`,
    );
  }
}

/** Whether `error` is a {@link SecretsError}, optionally of one code. */
export function isSecretsError(error: unknown, code?: SecretsErrorCode): error is SecretsError {
  return error instanceof SecretsError && (code === undefined || error.code === code);
}
