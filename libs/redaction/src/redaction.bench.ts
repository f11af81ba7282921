import { redact } from './redact.js';

/** A tool call as the trace collector sees it, about 600 bytes of JSON, with nothing to redact. */
export const CLEAN_EVENT = {
  type: 'tool.called',
  runId: '01JD0Z9X4M8N3F5V7W2Q6R1T8Y',
  agentId: 'support-triage',
  tool: 'zendesk.update_ticket',
  ts: '2026-11-26T10:15:30.123Z',
  latencyMs: 184,
  args: {
    ticketId: 'T-48213',
    status: 'resolved',
    priority: 2,
    tags: ['billing', 'refund', 'duplicate-charge'],
    note: 'Customer asked for a refund of the duplicate charge; approved under policy 4.2.',
  },
  result: {
    ok: true,
    updatedAt: '2026-11-26T10:15:30.456Z',
    version: 7,
    changes: [{ field: 'status', from: 'open', to: 'resolved' }],
  },
  usage: { input_tokens: 1532, output_tokens: 211, model: 'claude-sonnet-4-5' },
  trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' },
};

/**
 * The same shape carrying an e-mail address, a phone number, a card number, a bearer token in an
 * error message and a secret-named header: five replacements in three strings and one key.
 */
export const DIRTY_EVENT = {
  ...CLEAN_EVENT,
  args: {
    ...CLEAN_EVENT.args,
    note: 'Refund to card 4111 1111 1111 1111; customer ann.lee@example.com, +1 415-555-0100.',
    headers: { 'X-Api-Key': 'k-7d3c2b1a0f9e8d7c' },
  },
  error: 'upstream 401 for Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0',
};

/** Microseconds per {@link redact} call on each sample event. */
export interface RedactionBenchResult {
  readonly cleanMicros: number;
  readonly dirtyMicros: number;
}

function microsPerCall(event: unknown, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) redact(event);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) redact(event);
  return ((performance.now() - start) * 1000) / iterations;
}

/**
 * Measures {@link redact} on a typical clean event and on a dirty one, after a warm-up, and returns
 * microseconds per call. Not a test: wired into `npm run bench`.
 */
export function benchRedaction(iterations = 200_000): RedactionBenchResult {
  return {
    cleanMicros: microsPerCall(CLEAN_EVENT, iterations),
    dirtyMicros: microsPerCall(DIRTY_EVENT, iterations),
  };
}
