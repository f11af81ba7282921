/** Every error the helpdesk answers, as the `error` field of the body. */
export type HelpdeskErrorCode =
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'invalid_json'
  | 'invalid_request'
  | 'unknown_fields'
  | 'payload_too_large'
  | 'ticket_closed'
  | 'idempotency_key_reused';

/** A request the helpdesk refuses; the HTTP edge maps the code to a status in one place. */
export class HelpdeskError extends Error {
  override readonly name = 'HelpdeskError';

  constructor(
    readonly code: HelpdeskErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  static notFound(what: string): HelpdeskError {
    return new HelpdeskError('not_found', `${what} not found`);
  }

  static invalid(message: string): HelpdeskError {
    return new HelpdeskError('invalid_request', message);
  }
}

/** The HTTP status of each error code. */
export function statusOf(code: HelpdeskErrorCode): number {
  switch (code) {
    case 'unauthorized':
      return 401;
    case 'not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'invalid_json':
    case 'invalid_request':
    case 'unknown_fields':
      return 400;
    case 'payload_too_large':
      return 413;
    case 'ticket_closed':
    case 'idempotency_key_reused':
      return 422;
  }
}
