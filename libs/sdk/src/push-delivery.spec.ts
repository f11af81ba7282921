import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { classifyDelivery, parseDeliveryInfo } from './push-delivery.js';

describe('parseDeliveryInfo', () => {
  it('reads the sequences from a nats-server 2.9 reply subject', () => {
    expect(parseDeliveryInfo('$JS.ACK.WARDEN_DEV.c0nsumer.1.42.7.1712345678901234567.3')).toEqual({
      stream: 'WARDEN_DEV',
      consumer: 'c0nsumer',
      deliveryCount: 1,
      streamSeq: 42,
      deliverySeq: 7,
      pending: 3,
    });
  });

  it('reads the newer form with a domain, an account hash and a random token', () => {
    for (const reply of [
      '$JS.ACK.hub.ACCHASH.WARDEN_DEV.c0nsumer.2.42.7.1712345678901234567.0.r4nd0m',
      '$JS.ACK._.ACCHASH.WARDEN_DEV.c0nsumer.2.42.7.1712345678901234567.0',
    ]) {
      expect(parseDeliveryInfo(reply)).toMatchObject({
        stream: 'WARDEN_DEV',
        consumer: 'c0nsumer',
        deliveryCount: 2,
        streamSeq: 42,
        deliverySeq: 7,
        pending: 0,
      });
    }
  });

  it('refuses anything else', () => {
    for (const reply of [
      undefined,
      '',
      '_INBOX.abc',
      '$JS.ACK.S.c.1.2.3.4',
      '$JS.NAK.S.c.1.2.3.4.5',
      '$JS.ACK.S.c.1.x.3.4.5',
      '$JS.ACK.S.c.1.-2.3.4.5',
      '$JS.ACK.S.c.1.2.3.4.5.6.7.8.9.10',
      '$JS.ACK..c.1.2.3.4.5',
    ]) {
      expect(parseDeliveryInfo(reply), String(reply)).toBeUndefined();
    }
  });
});

describe('classifyDelivery', () => {
  it('takes a message with a JetStream reply subject for a stream message', () => {
    expect(classifyDelivery({ reply: '$JS.ACK.S.c.1.5.2.0.0' })).toMatchObject({
      kind: 'message',
      info: { streamSeq: 5, deliverySeq: 2 },
    });
  });

  it('keeps a stream message that carries its publisher’s headers', () => {
    const h = headers();
    h.set('Nats-Msg-Id', 'x');
    expect(classifyDelivery({ reply: '$JS.ACK.S.c.1.5.2.0.0', headers: h }).kind).toBe('message');
  });

  it('reads the last delivery sequence an idle heartbeat announces', () => {
    const h = headers(100, 'Idle Heartbeat');
    h.set('Nats-Last-Consumer', '12');
    h.set('Nats-Last-Stream', '40');
    expect(classifyDelivery({ headers: h })).toEqual({ kind: 'heartbeat', lastDeliverySeq: 12 });
    expect(classifyDelivery({ headers: headers(100, 'Idle Heartbeat') })).toEqual({
      kind: 'heartbeat',
      lastDeliverySeq: undefined,
    });
  });

  it('takes an error status for the end of the consumer', () => {
    expect(classifyDelivery({ headers: headers(409, 'Consumer Deleted') })).toEqual({
      kind: 'ended',
      code: 409,
      description: 'Consumer Deleted',
    });
  });

  it('ignores what JetStream did not send', () => {
    expect(classifyDelivery({ reply: '_INBOX.x' })).toEqual({ kind: 'other' });
    expect(classifyDelivery({})).toEqual({ kind: 'other' });
  });
});
