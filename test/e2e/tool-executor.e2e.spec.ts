import type { NatsConnection } from '@nats-io/transport-node';
import type { Run, Warden } from '@warden/sdk';
import { auditSql, humanWithToken, readStream, waitFor } from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HelpdeskProcess } from './support/helpdesk.js';
import { startReferenceStack, type ReferenceStack } from './support/reference-stack.js';
import type { Stack } from './support/stack.js';
import { connectTriageAgent } from './support/triage.js';

/**
 * Issue 7 across processes: the reference helpdesk as its own process, its credential set with
 * `warden secrets` and held only by the executor, the support-triage tools and policies, and an
 * SDK agent whose reads and writes reach the helpdesk through all five services.
 */
describe('tool executor: the reference helpdesk through the whole stack', () => {
  let reference: ReferenceStack;
  let env = '';
  let nc: NatsConnection;
  let helpdesk: HelpdeskProcess;
  let stack: Stack;
  let apiToken = '';
  let agent: Warden;
  let run: Run;

  const warden = (args: string[], input?: string) =>
    reference.cli(reference.adminToken, args, input);

  beforeAll(async () => {
    reference = await startReferenceStack('executor-e2e');
    ({ env, nc, helpdesk, stack, apiToken } = reference);
    await humanWithToken(nc, env, 'alice', ['support-leads']);
    ({ agent, run } = await connectTriageAgent(nc, reference.nats.url, env));
  }, 120_000);

  afterAll(async () => {
    await agent.close();
    await reference.stop();
  }, 60_000);

  it('reads and updates tickets on the helpdesk, each write applied once', async () => {
    const read = await run.call('zendesk.get_ticket', { ticket_id: 1 });
    expect(read).toMatchObject({ status: 'executed', output: { ticket: { id: 1 } } });

    const update = await run.call('zendesk.update_ticket', {
      ticket_id: 2,
      status: 'pending',
      comment: { body: 'Asked the customer for the invoice number.' },
    });
    expect(update).toMatchObject({ status: 'executed' });
    const writes = (await helpdesk.admin('GET', '/writes')) as {
      writes: { ticket_ids: number[]; idempotency_key: string }[];
    };
    expect(writes.writes.filter((write) => write.ticket_ids.includes(2))).toHaveLength(1);
    const ticket = await run.call('zendesk.get_ticket', { ticket_id: 2 });
    expect(ticket).toMatchObject({ output: { ticket: { id: 2, status: 'pending' } } });
  });

  it('keeps a read sealed for replay: an admin opens it, logged, until the run key is erased', async () => {
    const intentId = ulid();
    const read = await run.call('zendesk.get_ticket', { ticket_id: 4 }, { intentId });
    expect(read).toMatchObject({ status: 'executed', output: { ticket: { id: 4 } } });
    await waitFor(
      async () => {
        const rows = await auditSql(
          nc,
          env,
          "SELECT count() AS n FROM events WHERE env = {env:String} AND intent_id = {intent:String} AND type = 'intent.resolved' AND sealed != ''",
          { env, intent: intentId },
        );
        return Number(rows[0]?.n ?? 0) === 1 ? true : undefined;
      },
      { timeoutMs: 20_000, message: 'the collector stored the sealed output' },
    );
    // The log's own copy of the output has the requester's address redacted.
    const email = /"requester_email":"([^"]+)"/.exec(JSON.stringify(read.output))?.[1];
    expect(email).toMatch(/@/);
    const stored = await auditSql(
      nc,
      env,
      "SELECT data FROM events WHERE env = {env:String} AND intent_id = {intent:String} AND type = 'intent.resolved'",
      { env, intent: intentId },
    );
    expect(String(stored[0]?.data)).not.toContain(email);
    const outputsArgs = ['runs', 'outputs', run.runId, '--intent', intentId, '--json'];
    const opened = warden([...outputsArgs, '--purpose', 'e2e: what did the agent read?']);
    expect(opened.status, opened.stderr).toBe(0);
    // What the agent read, whole.
    expect(JSON.parse(opened.stdout)).toEqual([
      { intent_id: intentId, tool: 'zendesk.get_ticket', status: 'opened', output: read.output },
    ]);

    const erased = warden([
      'runs',
      'erase-outputs',
      run.runId,
      '--reason',
      'e2e erasure',
      '--json',
    ]);
    expect(erased.status, erased.stderr).toBe(0);
    expect(JSON.parse(erased.stdout)).toEqual({
      run_id: run.runId,
      had_key: true,
      erased_by: 'human:ops-admin',
    });
    const after = warden([...outputsArgs, '--purpose', 'e2e: after the erasure']);
    expect(after.status, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject([{ intent_id: intentId, status: 'erased' }]);

    const audit = (await readStream(nc, env))
      .map(({ event }) => event)
      .filter((event) => event.type.startsWith('run.outputs_'));
    expect(audit.map((event) => [event.type, event.run_id, event.data])).toEqual([
      [
        'run.outputs_opened',
        run.runId,
        { by: 'human:ops-admin', purpose: 'e2e: what did the agent read?', intent_ids: [intentId] },
      ],
      [
        'run.outputs_erased',
        run.runId,
        { by: 'human:ops-admin', reason: 'e2e erasure', had_key: true },
      ],
      [
        'run.outputs_opened',
        run.runId,
        { by: 'human:ops-admin', purpose: 'e2e: after the erasure', intent_ids: [intentId] },
      ],
    ]);
  });

  it('ends a write the helpdesk failed in doubt, and records the verdict of whoever checked', async () => {
    await helpdesk.admin('POST', '/faults', { fail_next: 1, status: 500 });
    const failed = await run
      .call('zendesk.update_ticket', { ticket_id: 3, status: 'solved' })
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ status: 'in_doubt', reason: 'upstream_error' });
    const intentId = (failed as { intentId: string }).intentId;
    const listed = await waitFor(
      () => {
        const result = warden(['executions', 'in-doubt', '--json']);
        if (result.status !== 0) return undefined;
        const rows = JSON.parse(result.stdout) as { intent_id: string; tool: string }[];
        return rows.find((row) => row.intent_id === intentId);
      },
      { timeoutMs: 20_000, message: 'the in-doubt execution listed' },
    );
    expect(listed).toMatchObject({ tool: 'zendesk.update_ticket' });

    const resolved = warden([
      'executions',
      'resolve',
      intentId,
      '--not-applied',
      '--note',
      'ticket 3 is still open in the helpdesk',
    ]);
    expect(resolved.status, resolved.stderr).toBe(0);
    expect(resolved.stdout).toMatch(/recorded: zendesk\.update_ticket .* was not applied/);
    const again = warden(['executions', 'resolve', intentId, '--applied', '--note', 'no']);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/already_reviewed|reviewed intent/);
    await waitFor(
      () => {
        const result = warden(['executions', 'in-doubt', '--json']);
        const rows = JSON.parse(result.stdout) as { intent_id: string }[];
        return rows.every((row) => row.intent_id !== intentId) ? true : undefined;
      },
      { timeoutMs: 20_000, message: 'the reviewed execution no longer listed' },
    );
  });

  it('never lets the helpdesk token into an event, a stored row, or a log line', async () => {
    await run.call('zendesk.search_tickets', { query: 'invoice', limit: 5 });
    const events = await readStream(nc, env);
    expect(events.length).toBeGreaterThan(10);
    for (const { event } of events) expect(JSON.stringify(event)).not.toContain(apiToken);
    // The collector has stored the run (its writes batch every few hundred ms).
    await waitFor(
      async () => {
        const rows = await auditSql(
          nc,
          env,
          'SELECT count() AS n FROM events WHERE env = {env:String}',
          {
            env,
          },
        );
        return Number(rows[0]?.n ?? 0) >= events.length ? true : undefined;
      },
      { timeoutMs: 20_000, message: 'the collector stored every event' },
    );
    const leaked = await auditSql(
      nc,
      env,
      'SELECT count() AS n FROM events WHERE env = {env:String} AND position(data, {token:String}) > 0',
      { env, token: apiToken },
    );
    expect(Number(leaked[0]?.n)).toBe(0);
    for (const service of ['tool-executor', 'trace-collector', 'cost-governor'] as const) {
      for (const process of stack.processes(service)) {
        expect(process.output()).not.toContain(apiToken);
      }
    }
    expect(helpdesk.output()).not.toContain(apiToken);
  });
});
