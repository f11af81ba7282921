import type { MsgHdrs } from '@nats-io/transport-node';

/** Where JetStream says a message delivered by a push consumer sits, read from its reply subject. */
export interface DeliveryInfo {
  readonly stream: string;
  readonly consumer: string;
  /** How many times this message was delivered to this consumer (1 without acks). */
  readonly deliveryCount: number;
  /** The message's sequence in the stream. */
  readonly streamSeq: number;
  /** The consumer's own count of deliveries: 1, 2, 3… with no hole unless one was lost. */
  readonly deliverySeq: number;
  /** Messages left for this consumer after this one. */
  readonly pending: number;
}

/**
 * Reads a delivered message's reply subject. JetStream puts its metadata there even when the
 * consumer takes no acks, which is how the reader gets sequences without any API call (an agent
 * under scoped access may not call consumer INFO):
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>` (nats-server
 * 2.9), or the newer form with `<domain>.<account hash>` after `ACK` and a random token at the end.
 * `undefined` for anything else.
 */
export function parseDeliveryInfo(reply: string | undefined): DeliveryInfo | undefined {
  if (reply === undefined) return undefined;
  const tokens = reply.split('.');
  if (tokens[0] !== '$JS' || tokens[1] !== 'ACK') return undefined;
  // Both forms end with the same seven tokens, after an optional random one in the newer form.
  let rest: string[];
  if (tokens.length === 9) rest = tokens.slice(2);
  else if (tokens.length === 11 || tokens.length === 12) rest = tokens.slice(4, 11);
  else return undefined;
  const [stream, consumer, delivered, streamSeq, deliverySeq, , pending] = rest;
  const numbers = [delivered, streamSeq, deliverySeq, pending].map(counter);
  const [deliveryCount, sseq, dseq, left] = numbers;
  if (
    !stream ||
    !consumer ||
    deliveryCount === undefined ||
    sseq === undefined ||
    dseq === undefined ||
    left === undefined
  ) {
    return undefined;
  }
  return {
    stream,
    consumer,
    deliveryCount,
    streamSeq: sseq,
    deliverySeq: dseq,
    pending: left,
  };
}

/** What arrived on a push consumer's deliver subject. */
export type PushDelivery =
  /** A stream message. */
  | { readonly kind: 'message'; readonly info: DeliveryInfo }
  /**
   * An idle heartbeat, with the consumer's last delivery sequence: higher than the last one seen
   * means a message was sent that never arrived.
   */
  | { readonly kind: 'heartbeat'; readonly lastDeliverySeq: number | undefined }
  /** A status the server sends when the consumer ended (e.g. 409 Consumer Deleted). */
  | { readonly kind: 'ended'; readonly code: number; readonly description: string }
  /** Anything else (not from JetStream): ignored. */
  | { readonly kind: 'other' };

/** The status code of an idle heartbeat (and of flow control, which the reader does not enable). */
const HEARTBEAT_CODE = 100;

/** Sorts out a message received on a push consumer's deliver subject. */
export function classifyDelivery(message: {
  readonly reply?: string;
  readonly headers?: MsgHdrs;
}): PushDelivery {
  const { headers } = message;
  // A status message has an empty body and a status line in its headers; a stream message may
  // have headers too (its publisher's), but never a status code.
  const code = headers?.code ?? 0;
  if (headers && code > 0) {
    if (code === HEARTBEAT_CODE) {
      return {
        kind: 'heartbeat',
        lastDeliverySeq: counter(headers.get('Nats-Last-Consumer') || undefined),
      };
    }
    return code >= 400
      ? { kind: 'ended', code, description: headers.description }
      : { kind: 'other' };
  }
  const info = parseDeliveryInfo(message.reply);
  return info === undefined ? { kind: 'other' } : { kind: 'message', info };
}

function counter(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined;
  return Number(text);
}
