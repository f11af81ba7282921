import { describe, expect, it } from 'vitest';
import { recordReferenceRun, RunRecorder } from '../../test/support/run-events.js';
import { buildTimeline, formatOffset, renderTimeline } from './timeline.js';

function referenceTimeline() {
  const recorder = new RunRecorder('test');
  recordReferenceRun(recorder, 'run-42');
  return buildTimeline('run-42', recorder.storedRows());
}

describe('buildTimeline', () => {
  it('keeps every event in order with its offset from the first', () => {
    const timeline = referenceTimeline();
    expect(timeline.entries[0]).toMatchObject({ type: 'run.started', offset_us: 0 });
    const offsets = timeline.entries.map((entry) => entry.offset_us);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    // The approval waited a minute: the grant is more than 60 s after the start.
    const granted = timeline.entries.find((entry) => entry.type === 'approval.granted');
    expect(granted?.offset_us).toBeGreaterThan(60_000_000);
    expect(timeline).toMatchObject({
      run_id: 'run-42',
      agent_id: 'triage-bot',
      workflow: 'support',
      started_at: '2026-11-02T09:00:00.001000Z',
    });
  });

  it('names each intent’s step, tool and args on all its events', () => {
    const timeline = referenceTimeline();
    const settledBulk = timeline.entries.find(
      (entry) => entry.type === 'budget.settled' && entry.tool === 'helpdesk.bulk_close',
    );
    expect(settledBulk).toMatchObject({ step: 2, intent_id: '01JD4K6Z8V3M2T9Q7W5X1Y0B02' });
    expect(timeline.intents['01JD4K6Z8V3M2T9Q7W5X1Y0B02']).toEqual({
      step: 2,
      tool: 'helpdesk.bulk_close',
      args: 'ticket_ids=[1,2,3]',
    });
    // A model call has an intent id but no tool or step.
    expect(timeline.intents['01JD4K6Z8V3M2T9Q7W5X1Y0BMM']).toEqual({
      step: null,
      tool: null,
      args: null,
    });
  });

  it('says what policy decided and by which policies, who may approve and who did', () => {
    const texts = referenceTimeline().entries.map((entry) => `${entry.type}: ${entry.text}`);
    expect(texts).toContain('policy.decided: policy: deny · by no-payroll (policy v3)');
    expect(texts).toContain(
      'policy.decided: policy: approval_required · by bulk-needs-lead (policy v3)',
    );
    expect(texts).toContain(
      "approval.requested: approval requested from group support-leads · not the agent's owner alice · expires 2026-11-02T10:00:00.000000Z · by bulk-needs-lead",
    );
    expect(texts).toContain('approval.granted: APPROVED by lee · "spam wave"');
    expect(texts).toContain(
      'intent.resolved: DENIED at policy · reason forbidden · policies no-payroll · forbidden by policy no-payroll',
    );
    expect(texts).toContain(
      'run.halted: run HALTED: loop · by service:cost-governor · the same call 4 times',
    );
    expect(texts).toContain('run.ended: run ended: failed (stopped by a loop)');
  });

  it('carries the run’s spend after each event, model calls included', () => {
    const timeline = referenceTimeline();
    const settled = timeline.entries.filter((entry) => entry.type === 'budget.settled');
    expect(settled.map((entry) => entry.run_spend_micro_usd)).toEqual([1_000, 6_000, 8_500]);
    expect(settled.map((entry) => entry.text)).toEqual([
      'budget settled $0.001 · run spend $0.001',
      'budget settled $0.005 · run spend $0.006',
      'budget settled $0.0025 · released $0.0005 · run spend $0.0085',
    ]);
    // Between settlements the spend stays what the last one left.
    const granted = timeline.entries.find((entry) => entry.type === 'approval.granted');
    expect(granted?.run_spend_micro_usd).toBe(1_000);
    expect(timeline.run_spend_micro_usd).toBe(8_500);
    const reserved = timeline.entries.find((entry) => entry.type === 'budget.reserved');
    expect(reserved?.text).toBe('budget reserved $0.001 · step 1 of 10 · $0.499 left to reserve');
  });

  it('sums the settlements itself when they do not report the run’s cost', () => {
    const rows = [
      { type: 'run.started', occurred_at: '2026-11-02T09:00:00.000000Z', data: '{}' },
      ...[700, 300].map((cost, i) => ({
        type: 'budget.settled',
        occurred_at: `2026-11-02T09:00:0${i + 1}.000000Z`,
        intent_id: `intent-${i}`,
        cost_micro_usd: cost,
        data: JSON.stringify({ cost_micro_usd: cost, released_micro_usd: 0 }),
      })),
    ];
    const timeline = buildTimeline('run-1', rows);
    expect(timeline.entries.map((entry) => entry.run_spend_micro_usd)).toEqual([0, 700, 1_000]);
  });

  it('shows outputs as the log stores them: redacted and shortened', () => {
    const timeline = referenceTimeline();
    const executed = timeline.entries.find(
      (entry) => entry.type === 'intent.resolved' && entry.tool === 'helpdesk.get_ticket',
    );
    expect(executed?.text).toMatch(
      /^EXECUTED in 40 ms \(upstream 200\) · output \{"id":42,"requester":"\[REDACTED:email\]","subject":"x+…$/,
    );
    expect(executed?.redactions).toEqual(['email']);
    expect(JSON.stringify(timeline)).not.toContain('ann.lee@example.com');
  });

  it('describes spans and model calls', () => {
    const texts = referenceTimeline().entries.map((entry) => entry.text);
    expect(texts).toContain('span retrieval "read queue" · 12.3 ms');
    expect(texts).toContain('model requested for extraction, ~900 tokens');
    expect(texts).toContain('model routed: small-1 · tier 1 · reserved $0.003');
    expect(texts).toContain('model used: small-1 · 900 tokens in, 100 out · 300 ms');
  });

  it('names the release that drove the run, and the canary that chose it', () => {
    const started = (data: object) =>
      buildTimeline('run-1', [
        {
          type: 'run.started',
          occurred_at: '2026-11-02T09:00:00.000000Z',
          data: JSON.stringify(data),
        },
      ]).entries[0]?.text;
    expect(started({ version: 'v1' })).toBe('run started · release v1');
    expect(
      started({
        version: 'v2',
        canary: { id: '01JDCANARY000000000000000A', arm: 'canary' },
        limits: { max_steps: 3 },
      }),
    ).toBe(
      'run started · release v2 (canary 01JDCANARY000000000000000A, canary side) · declared limits: 3 steps',
    );
  });

  it('reads a row whose data is not JSON, or of an unknown type, without failing', () => {
    const timeline = buildTimeline('run-1', [
      { type: 'run.started', occurred_at: '2026-11-02T09:00:00.000000Z', data: 'not json' },
      {
        type: 'breaker.opened',
        occurred_at: '2026-11-02T09:00:00.500000Z',
        data: '{"tool":"helpdesk.get_ticket","reason":"5 failures"}',
      },
    ]);
    expect(timeline.entries.map((entry) => entry.text)).toEqual([
      'run started',
      'breaker.opened · tool=helpdesk.get_ticket reason="5 failures"',
    ]);
    expect(timeline.entries[1]?.offset_us).toBe(500_000);
  });
});

describe('renderTimeline', () => {
  it('groups each intent’s events under its step, tool and args', () => {
    const text = renderTimeline(referenceTimeline());
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'run run-42 · agent triage-bot · workflow support · started 2026-11-02T09:00:00.001000Z · 28 events · spent $0.0085',
    );
    const heading = lines.findIndex((line) =>
      line.includes(
        '┌ step 1 · helpdesk.get_ticket(ticket_id=42) · intent 01JD4K6Z8V3M2T9Q7W5X1Y0B01',
      ),
    );
    expect(heading).toBeGreaterThan(0);
    expect(lines.slice(heading + 1, heading + 4)).toEqual([
      expect.stringMatching(/^ *\+0\.002s {2}│ proposed by the agent$/),
      expect.stringMatching(/│ policy: allow · by reads \(policy v3\)$/),
      expect.stringMatching(/│ budget reserved \$0\.001/),
    ]);
    expect(text).toContain('┌ model call · intent 01JD4K6Z8V3M2T9Q7W5X1Y0BMM');
    // Events of no intent are not indented.
    expect(lines.at(-2)).toMatch(/^\+1m00\.\d{3}s {2}run ended: failed/);
  });

  it('names an intent again, shortly, where its events resume after another’s', () => {
    const recorder = new RunRecorder('test');
    const run = recorder.emit('run.started', {}, { runId: 'run-7', agentId: 'a' });
    const first = recorder.emit(
      'intent.proposed',
      { tool: 't.one', args: { n: 1 }, step: 1 },
      { cause: run, intentId: 'intent-1' },
    );
    recorder.emit(
      'intent.proposed',
      { tool: 't.two', args: { n: 2 }, step: 2 },
      { cause: run, intentId: 'intent-2' },
    );
    recorder.emit('tool.started', { tool: 't.one', attempt: 1 }, { cause: first });
    const lines = renderTimeline(buildTimeline('run-7', recorder.storedRows())).split('\n');
    expect(lines.filter((line) => line.includes('┌'))).toEqual([
      '         ┌ step 1 · t.one(n=1) · intent intent-1',
      '         ┌ step 2 · t.two(n=2) · intent intent-2',
      '         ┌ step 1 · t.one, continued',
    ]);
  });
});

describe('formatOffset', () => {
  it('prints seconds to the millisecond, then minutes, then hours', () => {
    expect(formatOffset(0)).toBe('+0.000s');
    expect(formatOffset(12_345)).toBe('+0.012s');
    expect(formatOffset(61_234_000)).toBe('+1m01.234s');
    expect(formatOffset(3_723_000_000)).toBe('+1h02m03s');
  });
});
