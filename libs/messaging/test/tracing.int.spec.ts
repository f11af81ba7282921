import type { NatsConnection } from '@nats-io/transport-node';
import { SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { buildEvent, subjectOf, subjects } from '@warden/contracts';
import {
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
  proposedEvent,
  TEST_PRODUCER,
} from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  consumeEvents,
  EventPublisher,
  Outcome,
  provisionEnv,
  removeEnv,
} from '../src/index.js';
import { lastOnStream } from './support.js';

type SpanProcessor = NonNullable<NodeSDKConfiguration['spanProcessors']>[number];
type FinishedSpan = Parameters<SpanProcessor['onEnd']>[0];

/** Keeps every finished span in memory. */
class RecordingProcessor implements SpanProcessor {
  readonly spans: FinishedSpan[] = [];
  onStart(): void {
    // Nothing to do before the span ends.
  }
  onEnd(span: FinishedSpan): void {
    this.spans.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let nats: TestNats;
let nc: NatsConnection;
let sdk: NodeSDK;
const recorder = new RecordingProcessor();
const env = uniqueEnv('tracing');

beforeAll(async () => {
  process.env.OTEL_METRICS_EXPORTER = 'none';
  process.env.OTEL_LOGS_EXPORTER = 'none';
  sdk = new NodeSDK({
    spanProcessors: [recorder],
    instrumentations: [],
    autoDetectResources: false,
  });
  sdk.start();
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'tracing-test' });
  await provisionEnv(nc, env);
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
  await sdk.shutdown();
});

describe('trace context over NATS headers', () => {
  it('publishes traceparent and runs the handler in a child span of it', async () => {
    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    const seen: { active: SpanContext | undefined; traceparent: string | undefined }[] = [];
    const consumer = await consumeEvents(nc, {
      env,
      service: 'traced',
      eventType: 'intent.proposed',
      handle: async (event, ctx) => {
        seen.push({ active: trace.getActiveSpan()?.spanContext(), traceparent: ctx.traceparent });
        await ctx.publish(
          buildEvent({
            type: 'intent.resolved',
            cause: event,
            producer: ctx.producer,
            data: { status: 'executed', stage: 'executor' },
          }),
        );
        return Outcome.processed;
      },
    });
    try {
      const event = proposedEvent(env, { agent: 'traced' });
      const root = await trace.getTracer('test').startActiveSpan('agent step', async (span) => {
        await publisher.publish(event);
        span.end();
        return span.spanContext();
      });
      const expected = `00-${root.traceId}-${root.spanId}-01`;
      expect((await lastOnStream(nc, env, subjectOf(event)))?.headers.traceparent).toBe(expected);

      await waitFor(() => seen.length === 1);
      expect(seen[0]!.traceparent).toBe(expected);
      expect(seen[0]!.active?.traceId).toBe(root.traceId);

      const handlerSpan = await waitFor(() =>
        recorder.spans.find((span) => span.name === 'intent.proposed process'),
      );
      expect(handlerSpan.kind).toBe(SpanKind.CONSUMER);
      expect(handlerSpan.spanContext().traceId).toBe(root.traceId);
      expect(handlerSpan.parentSpanContext?.spanId).toBe(root.spanId);
      expect(handlerSpan.attributes['messaging.message.id']).toBe(event.event_id);

      // The output continues the same trace, as a child of the handler's span.
      const output = await waitFor(() =>
        lastOnStream(nc, env, subjects.event(env, 'intent.resolved', 'traced')),
      );
      expect(output.headers.traceparent).toBe(
        `00-${root.traceId}-${handlerSpan.spanContext().spanId}-01`,
      );
    } finally {
      await consumer.stop();
    }
  });
});
