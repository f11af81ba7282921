import { DeliverPolicy } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { ReaderPosition } from './reader-position.js';

const at = (streamSeq: number, deliverySeq: number) => ({ streamSeq, deliverySeq });

describe('ReaderPosition', () => {
  it('starts the first consumer as asked: new messages, or at a time', () => {
    expect(new ReaderPosition({ kind: 'new' }).startConfig()).toEqual({
      deliver_policy: DeliverPolicy.New,
    });
    const time = new Date('2026-01-02T03:04:05.000Z');
    expect(new ReaderPosition({ kind: 'time', at: time }).startConfig()).toEqual({
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: '2026-01-02T03:04:05.000Z',
    });
  });

  it('starts a replacement right after where the first one started when nothing arrived', () => {
    const position = new ReaderPosition({ kind: 'new' });
    position.beginGeneration();
    position.created({ stream_seq: 41, consumer_seq: 0 });
    expect(position.lastSeq).toBe(41);
    expect(position.startConfig()).toEqual({
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: 42,
    });
  });

  it('hands messages over in order and starts a replacement after the last one', () => {
    const position = new ReaderPosition({ kind: 'new' });
    position.beginGeneration();
    position.created({ stream_seq: 10, consumer_seq: 0 });
    expect(position.delivered(at(12, 1))).toBe('handle');
    expect(position.delivered(at(15, 2))).toBe('handle');
    expect(position.startConfig()).toMatchObject({ opt_start_seq: 16 });
  });

  it('calls a hole in the delivery sequence a gap, and moves nothing', () => {
    const position = new ReaderPosition({ kind: 'new' });
    position.beginGeneration();
    position.created({ stream_seq: 10, consumer_seq: 0 });
    expect(position.delivered(at(12, 1))).toBe('handle');
    expect(position.delivered(at(20, 3))).toBe('gap');
    expect(position.lastSeq).toBe(12);
  });

  it('skips what a replacement sends again, at most once per stream sequence', () => {
    const position = new ReaderPosition({ kind: 'time', at: new Date(0) });
    position.beginGeneration();
    expect(position.delivered(at(5, 1))).toBe('handle');
    expect(position.delivered(at(6, 2))).toBe('handle');
    // A replacement that starts earlier than asked (a start time is a lower bound).
    position.beginGeneration();
    expect(position.delivered(at(5, 1))).toBe('skip');
    expect(position.delivered(at(6, 2))).toBe('skip');
    expect(position.delivered(at(7, 3))).toBe('handle');
  });

  it('never moves back when deliveries overtake the create reply', () => {
    const position = new ReaderPosition({ kind: 'new' });
    position.beginGeneration();
    expect(position.delivered(at(12, 1))).toBe('handle');
    // The reply was built before the delivery, with nothing delivered yet.
    position.created({ stream_seq: 11, consumer_seq: 0 });
    expect(position.lastSeq).toBe(12);
  });

  it('keeps no floor from a reply that already counted deliveries', () => {
    const position = new ReaderPosition({ kind: 'new' });
    position.beginGeneration();
    position.created({ stream_seq: 30, consumer_seq: 2 });
    expect(position.lastSeq).toBeUndefined();
    expect(position.delivered(at(29, 1))).toBe('handle');
    expect(position.delivered(at(30, 2))).toBe('handle');
  });

  it('calls a heartbeat announcing a delivery that never came a gap', () => {
    const position = new ReaderPosition({ kind: 'new' });
    position.beginGeneration();
    expect(position.heartbeat(undefined)).toBe('ok');
    expect(position.heartbeat(0)).toBe('ok');
    expect(position.heartbeat(1)).toBe('gap');
    position.delivered(at(3, 1));
    expect(position.heartbeat(1)).toBe('ok');
    expect(position.heartbeat(2)).toBe('gap');
  });

  it('counts each consumer’s deliveries from 1', () => {
    const position = new ReaderPosition({ kind: 'new' });
    position.beginGeneration();
    position.delivered(at(3, 1));
    position.delivered(at(4, 2));
    position.beginGeneration();
    expect(position.delivered(at(5, 1))).toBe('handle');
  });
});
