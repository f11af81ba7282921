import { describe, expect, it } from 'vitest';
import { argsDifference, canonicalArgs } from './replay-match.js';

describe('canonicalArgs', () => {
  it('takes the args through JSON and the collector’s redaction, as the log stores them', () => {
    expect(
      canonicalArgs({
        ticket_id: 3,
        gone: undefined,
        note: 'ask bob@example.com',
        password: 'hunter2',
      }),
    ).toEqual({ ticket_id: 3, note: 'ask [REDACTED:email]', password: '[REDACTED:secret]' });
  });
});

describe('argsDifference', () => {
  it('finds none between equal args, whatever their key order', () => {
    expect(
      argsDifference({ status: 'new', limit: 100 }, { limit: 100, status: 'new' }),
    ).toBeUndefined();
  });

  it('names the first path that differs, with both values', () => {
    expect(argsDifference({ ticket_id: 3 }, { ticket_id: 4 })).toBe(
      'args.ticket_id: recorded 3, asked 4',
    );
    expect(argsDifference({ ids: [1, 2] }, { ids: [1, 2, 3] })).toBe(
      'args.ids: recorded 2 items, asked 3',
    );
    expect(argsDifference({ a: { b: 1 } }, { a: { b: 1, c: 2 } })).toBe(
      'args.a.c: not recorded, asked 2',
    );
    expect(argsDifference({ a: 1, b: 2 }, { a: 1 })).toBe('args.b: recorded 2, not asked');
  });

  it('matches a redacted value by its marker only, and says so when the rest differs', () => {
    // The log kept "[REDACTED:email]": any address matches, since no other is known.
    expect(
      argsDifference({ assignee: '[REDACTED:email]' }, { assignee: 'carol@example.com' }),
    ).toBeUndefined();
    expect(argsDifference({ note: 'ask [REDACTED:email]' }, { note: 'tell x@example.com' })).toBe(
      'args.note: recorded "ask [REDACTED:email]", asked "tell [REDACTED:email]" (the log keeps this value redacted: only its redacted form is compared)',
    );
  });
});
