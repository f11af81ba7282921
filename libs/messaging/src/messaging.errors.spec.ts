import pino from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { MessagingLogger } from './logger.js';
import { isMessagingError, MessagingError } from './messaging.errors.js';

describe('MessagingError', () => {
  it('carries a code, whether to retry, and the cause', () => {
    const cause = new Error('connect ECONNREFUSED');
    const error = MessagingError.natsUnreachable(['nats://127.0.0.1:4999'], cause);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'MessagingError',
      code: 'nats_unreachable',
      retryable: true,
      cause,
    });
    expect(error.message).toContain('nats://127.0.0.1:4999');
    expect(isMessagingError(error)).toBe(true);
    expect(isMessagingError(error, 'cas_conflict')).toBe(false);
    expect(isMessagingError(cause)).toBe(false);
    expect(
      MessagingError.invalidEvent('intent.proposed', 'invalid_data', 'step: too small'),
    ).toMatchObject({
      code: 'invalid_event',
      retryable: false,
    });
  });
});

describe('MessagingLogger', () => {
  it('accepts a pino logger as it is', () => {
    expectTypeOf(pino({ enabled: false })).toExtend<MessagingLogger>();
  });
});
