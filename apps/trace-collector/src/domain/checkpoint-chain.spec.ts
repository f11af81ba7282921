import { generateKeyPairSync } from 'node:crypto';
import type { EventDigest } from '@warden/event-store';
import { describe, expect, it } from 'vitest';
import { buildCheckpoint, checkCheckpoint, checkRows, keyIdOf } from './checkpoint-chain.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = { keyId: keyIdOf(publicKey.export({ format: 'der', type: 'spki' })), privateKey };
const now = new Date('2026-11-27T12:00:00Z');

const digest = (id: string, overrides: Partial<EventDigest> = {}): EventDigest => ({
  event_id: id,
  env: 'dev',
  type: 'intent.proposed',
  run_id: 'run-1',
  occurred_at: '2026-11-27T11:00:00.000001Z',
  copies: 1,
  digest: `d-${id}`,
  ...overrides,
});

const first = buildCheckpoint({
  env: 'dev',
  head: undefined,
  eventIds: ['a', 'b'],
  digests: [digest('b'), digest('a')],
  at: '2026-11-27T11:00:01.000000Z',
  signer,
});

describe('buildCheckpoint', () => {
  it('starts the chain at 1 and keeps the batch order', () => {
    expect(first).toMatchObject({ seq: 1, prev_digest: '', event_ids: ['a', 'b'] });
    expect(first.row_digests).toEqual(['d-a', 'd-b']);
  });

  it('links to the head', () => {
    const next = buildCheckpoint({
      env: 'dev',
      head: first,
      eventIds: ['c'],
      digests: [digest('c')],
      at: '2026-11-27T11:00:02.000000Z',
      signer,
    });
    expect(next).toMatchObject({ seq: 2, prev_digest: first.digest });
    expect(checkCheckpoint(next, first, publicKey)).toBeUndefined();
  });

  it('refuses a batch whose rows the store does not show', () => {
    expect(() =>
      buildCheckpoint({
        env: 'dev',
        head: undefined,
        eventIds: ['x'],
        digests: [],
        at: first.created_at,
        signer,
      }),
    ).toThrow(/event x is not readable/);
  });
});

describe('checkCheckpoint', () => {
  it('accepts an intact checkpoint', () => {
    expect(checkCheckpoint(first, undefined, publicKey)).toBeUndefined();
  });

  it.each([
    ['a field', { run_ids: ['run-1', 'run-2'] }],
    ['a row digest', { row_digests: ['d-a', 'd-x'] }],
    ['its time', { created_at: '2026-11-27T11:00:01.000001Z' }],
  ])('reports %s changed', (_what, change) => {
    expect(checkCheckpoint({ ...first, ...change }, undefined, publicKey)).toMatchObject({
      kind: 'checkpoint_altered',
      checkpoint_seq: 1,
    });
  });

  it('reports a signature by another key, and an unpublished key', () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(checkCheckpoint(first, undefined, other)?.kind).toBe('signature_bad');
    expect(checkCheckpoint(first, undefined, undefined)?.kind).toBe('signature_bad');
  });

  it('reports a gap, a repeat and a wrong link', () => {
    expect(checkCheckpoint(first, { seq: 5, digest: 'x' }, publicKey)?.message).toMatch(
      /appears|missing|followed/,
    );
    const second = buildCheckpoint({
      env: 'dev',
      head: { seq: 1, digest: 'other' },
      eventIds: ['c'],
      digests: [digest('c')],
      at: first.created_at,
      signer,
    });
    expect(checkCheckpoint(second, first, publicKey)).toMatchObject({
      kind: 'chain_broken',
      checkpoint_seq: 2,
    });
    expect(checkCheckpoint(second, { seq: 2, digest: 'x' }, publicKey)?.message).toBe(
      'checkpoint 2 appears twice',
    );
  });
});

describe('checkRows', () => {
  const stored = new Map([
    ['a', digest('a')],
    ['b', digest('b')],
  ]);

  it('counts matching rows', () => {
    expect(checkRows(first, stored, undefined, now)).toEqual({
      verified: 2,
      expired: 0,
      notFound: [],
    });
  });

  it('names the first changed row with what is stored now', () => {
    const changed = new Map(stored).set('b', digest('b', { digest: 'edited', run_id: 'run-9' }));
    expect(checkRows(first, changed, undefined, now).failure).toMatchObject({
      kind: 'row_changed',
      event: { event_id: 'b', run_id: 'run-9' },
    });
  });

  it('asks for a second look before calling a row missing, then names it from the checkpoint', () => {
    const without = new Map([['a', digest('a')]]);
    expect(checkRows(first, without, undefined, now)).toMatchObject({ notFound: ['b'] });
    expect(checkRows(first, without, new Map(), now).failure).toMatchObject({
      kind: 'row_missing',
      event: { event_id: 'b', type: 'intent.proposed', run_id: 'run-1' },
    });
  });

  it('treats a row moved to another env as changed', () => {
    const moved = new Map([['b', digest('b', { env: 'prod' })]]);
    expect(checkRows(first, new Map([['a', digest('a')]]), moved, now).failure?.kind).toBe(
      'row_changed',
    );
  });

  it('does not count a row past retention as missing', () => {
    const later = new Date('2028-06-01T00:00:00Z');
    expect(checkRows(first, new Map(), new Map(), later)).toMatchObject({
      expired: 2,
      verified: 0,
    });
    expect(checkRows(first, new Map(), new Map(), later).failure).toBeUndefined();
  });
});
