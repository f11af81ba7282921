import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { validateWith } from './builtin-tools.js';
import { admit, mayRunAgain, unansweredResult, type ToolSpec } from './tools.js';

const spec: ToolSpec = {
  traits: { kind: 'write', honoursIdempotencyKey: false },
  validate: validateWith(
    z.strictObject({ ticket: z.number().int(), status: z.enum(['open', 'closed']) }),
  ),
  timeoutMs: () => 120_000,
};

describe('admit', () => {
  it('resolves an unknown tool as failed with unknown_tool', () => {
    expect(admit('payments.refund', {}, undefined, 1_000)).toEqual({
      admitted: false,
      traits: undefined,
      outcome: {
        status: 'failed',
        reason: 'unknown_tool',
        message: 'no tool named payments.refund is known to this executor',
      },
    });
  });

  it('lists every invalid arg, with its path, in the details and the message', () => {
    const admission = admit('zendesk.update', { ticket: 'x', status: 'gone' }, spec, 1_000);
    expect(admission).toMatchObject({ admitted: false, outcome: { reason: 'invalid_args' } });
    if (admission.admitted) throw new Error('unreachable');
    expect(admission.outcome.details?.map((d) => d.path)).toEqual(['args.ticket', 'args.status']);
    expect(admission.outcome.message).toMatch(/^invalid args for zendesk\.update: args\.ticket: /);
  });

  it('caps the tool own timeout by the configured bound', () => {
    expect(admit('zendesk.update', { ticket: 1, status: 'open' }, spec, 30_000)).toMatchObject({
      admitted: true,
      timeoutMs: 30_000,
    });
  });
});

describe('running again', () => {
  it('is safe for reads and for writes whose upstream honours idempotency keys only', () => {
    expect(mayRunAgain({ kind: 'read', honoursIdempotencyKey: false })).toBe(true);
    expect(mayRunAgain({ kind: 'write', honoursIdempotencyKey: true })).toBe(true);
    expect(mayRunAgain({ kind: 'write', honoursIdempotencyKey: false })).toBe(false);
  });

  it('treats an unanswered write as maybe applied, an unanswered read as not', () => {
    expect(unansweredResult(spec.traits, 'timeout', 'slow')).toMatchObject({ maybeApplied: true });
    expect(
      unansweredResult({ kind: 'read', honoursIdempotencyKey: false }, 'timeout', 'slow'),
    ).toMatchObject({ maybeApplied: false });
  });
});
