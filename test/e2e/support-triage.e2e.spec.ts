import type { NatsConnection } from '@nats-io/transport-node';
import { ApprovalDeniedError, NonDeterminismError, parseRecording, Warden } from '@warden/sdk';
import {
  runScenario,
  SCENARIOS,
  TRIAGE_AGENT,
  TriageAgent,
  WORKFLOW,
  type ScenarioContext,
  type ScenarioResult,
} from '@warden/support-triage';
import { auditSql, humanWithToken, readStream, registerAgents, waitFor } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HelpdeskProcess } from './support/helpdesk.js';
import { startReferenceStack, type ReferenceStack } from './support/reference-stack.js';
import type { Stack, StackService } from './support/stack.js';

interface Ticket {
  id: number;
  status: string;
  priority: string;
  tags: string[];
  notes: { body: string }[];
}

interface Write {
  ticket_ids: number[];
  idempotency_key: string;
}

/**
 * Issue 8 §4 through the whole stack: the reference agent plays every scenario against all five
 * services as separate processes, the helpdesk over HTTP and chDB, and the test checks what the
 * business sees in the helpdesk, not only the events. Then the routine triage again from a fresh
 * queue while the services are SIGKILLed and restarted one after another: the same tickets, and
 * no write applied twice.
 */
describe('support-triage: the reference workflow end to end', () => {
  let reference: ReferenceStack;
  let env = '';
  let nc: NatsConnection;
  let helpdesk: HelpdeskProcess;
  let stack: Stack;
  let warden: Warden;
  let context: ScenarioContext;
  let leadToken = '';
  const results = new Map<string, ScenarioResult>();
  /** The queue right after the routine triage of a fresh seed. */
  let triaged: Ticket[] = [];

  const cli = (token: string, args: string[]) => reference.cli(token, args);
  // What the business sees: the helpdesk's own API, with the token only the executor holds.
  const tickets = async () => {
    const response = await fetch(`${helpdesk.url}/tickets?limit=100`, {
      headers: { authorization: `Bearer ${reference.apiToken}` },
    });
    return ((await response.json()) as { tickets: Ticket[] }).tickets;
  };
  const ticket = async (id: number) => (await tickets()).find((one) => one.id === id);
  const writes = async () =>
    ((await helpdesk.admin('GET', '/writes')) as { writes: Write[] }).writes;

  beforeAll(async () => {
    reference = await startReferenceStack('triage-e2e', {
      executorEnv: { EXECUTOR_BREAKER_COOLDOWN_MS: '2000' },
    });
    ({ env, nc, helpdesk, stack } = reference);
    await humanWithToken(nc, env, TRIAGE_AGENT.owner, ['support']);
    leadToken = await humanWithToken(nc, env, 'lee', ['support-leads']);

    const { agent_id: agentId, ...attributes } = TRIAGE_AGENT;
    const secrets = await registerAgents(nc, env, [agentId], {
      ...attributes,
      domains: [...attributes.domains],
      tool_groups: [...attributes.tool_groups],
    });
    warden = await Warden.connect({
      servers: reference.nats.url,
      env,
      agentId,
      credential: { clientSecret: secrets.get(agentId) ?? '' },
    });
    context = {
      warden,
      failHelpdesk: async (count) => {
        await helpdesk.admin('POST', '/faults', { fail_next: count, status: 500 });
      },
      recoveryTimeoutMs: 30_000,
    };
  }, 180_000);

  afterAll(async () => {
    await warden.close();
    await reference.stop();
  }, 60_000);

  it('plays every scenario to its expected, logged end', async () => {
    for (const scenario of SCENARIOS) {
      const result = await runScenario(scenario, context);
      results.set(scenario.name, result);
      expect(result.ok, `${scenario.name}: ${result.summary}`).toBe(true);
      if (scenario.name === 'triage') triaged = await tickets();
    }
    // Routine triage, as the business sees it: the fields its rules set, one note each.
    expect(await ticket(1)).toMatchObject({
      status: 'open',
      priority: 'high',
      tags: ['billing', 'refund', 'needs-finance'],
    });
    expect(await ticket(8)).toMatchObject({ status: 'solved', tags: ['login', 'duplicate'] });
    expect(await ticket(9)).toMatchObject({ priority: 'high', tags: ['sso', 'login'] });
    for (const spam of [5, 6]) expect((await ticket(spam))?.status).toBe('closed');
    // Denied, held or halted: nothing reached the helpdesk for them.
    expect(await ticket(7)).toMatchObject({ status: 'open', tags: ['payroll', 'hr'] });
    expect((await ticket(4))?.status).toBe('new');
    for (let id = 13; id <= 23; id++) expect((await ticket(id))?.status).toBe('pending');

    const events = (await readStream(nc, env)).map(({ event }) => event);
    const halts = events.filter((event) => event.type === 'run.halted');
    expect(halts.map((event) => [event.run_id, event.data.reason])).toEqual(
      expect.arrayContaining([
        [results.get('runaway-loop')?.runId, 'loop'],
        [results.get('helpdesk-outage')?.runId, 'upstream_degraded'],
      ]),
    );
    expect(events.filter((event) => event.type === 'breaker.opened')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'breaker.closed')).toHaveLength(1);
  });

  it('replays the recorded triage with no traffic, and names the step a changed agent departs at', async () => {
    const live = results.get('triage');
    if (live === undefined) throw new Error('no triage run');
    const { runId } = live;
    // The run's answers reach the log a moment after the agent got them.
    await waitFor(
      async () => {
        const [row] = await auditSql(
          nc,
          env,
          "SELECT count() AS n FROM events WHERE env = {env:String} AND run_id = {run:String} AND type = 'intent.resolved'",
          { env, run: runId },
        );
        return Number(row?.n) >= live.steps.length;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: 'the triage run in the log' },
    );
    const written = cli(reference.adminToken, [
      'runs',
      'recording',
      runId,
      '--purpose',
      'replay e2e: the same agent',
    ]);
    expect(written.status, written.stderr).toBe(0);
    const recording = parseRecording(JSON.parse(written.stdout));
    // The reads seal their raw output: the replay feeds the agent what it really read.
    expect(recording.steps.filter((step) => step.output_from === 'sealed').length).toBeGreaterThan(
      2,
    );

    // What a replay would leave behind if it reached Warden: events of the run, or any proposal.
    const traffic = async () =>
      (await readStream(nc, env))
        .map(({ event }) => event)
        .filter(
          (event) =>
            event.run_id === runId ||
            ['intent.proposed', 'run.started', 'tool.started', 'model.requested'].includes(
              event.type,
            ),
        ).length;
    const before = { traffic: await traffic(), tickets: await tickets(), writes: await writes() };

    const replay = await Warden.replay({ recording });
    const agent = new TriageAgent(replay);
    await agent.triageQueue();
    expect(await replay.end({ status: 'succeeded' })).toMatchObject({
      complete: true,
      consumed: live.steps.length,
    });
    // The same calls and answers; outputs as the agent saw them live where the tool seals them,
    // else the log's copy.
    expect(agent.steps.map(({ output: _, ...step }) => step)).toEqual(
      live.steps.map(({ output: _, ...step }) => step),
    );
    agent.steps.forEach((step, i) => {
      const recorded = recording.steps[i];
      expect(step.output).toEqual(
        recorded?.output_from === 'sealed'
          ? live.steps[i]?.output
          : recorded?.resolved?.data.output,
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await traffic()).toBe(before.traffic);
    expect(await tickets()).toEqual(before.tickets);
    expect(await writes()).toEqual(before.writes);

    // A new prompt that looks tickets up by search instead of reading them: it departs at the
    // first ticket read.
    class SearchingAgent extends TriageAgent {
      override async readTicket(id: number) {
        await this.act('zendesk.search_tickets', { query: `#${id}`, limit: 1 });
        return undefined;
      }
    }
    const fetched = await Warden.replay({
      servers: reference.nats.url,
      env,
      runId,
      token: reference.adminToken,
      purpose: 'replay e2e: a changed agent',
    });
    const departed = await new SearchingAgent(fetched)
      .triageQueue()
      .catch((error: unknown) => error);
    const firstRead = recording.steps.find((step) => step.tool === 'zendesk.get_ticket');
    expect(departed).toBeInstanceOf(NonDeterminismError);
    expect(departed).toMatchObject({
      step: firstRead?.step,
      recorded: { name: 'zendesk.get_ticket', args: firstRead?.args },
      asked: { name: 'zendesk.search_tickets' },
    });
    expect((departed as Error).message).toContain(`replay step ${firstRead?.step}:`);
    expect(fetched.summary()).toMatchObject({ complete: false });
  }, 60_000);

  it('runs the bulk close a lead approves exactly once, and never the injected one', async () => {
    const bulk = results.get('bulk-close')?.pending[0];
    const injected = results.get('prompt-injection')?.pending[0];
    expect(bulk?.args['ticket_ids']).toEqual([13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
    if (bulk === undefined || injected === undefined) throw new Error('no pending approval');
    expect((injected.args['ticket_ids'] as number[]).length).toBeGreaterThan(10);

    const approved = cli(leadToken, ['approvals', 'approve', bulk.approvalId, '--reason', 'ok']);
    expect(approved.status, approved.stderr).toBe(0);
    const denied = cli(leadToken, [
      'approvals',
      'deny',
      injected.approvalId,
      '--reason',
      'injection',
    ]);
    expect(denied.status, denied.stderr).toBe(0);

    // The agent picks its calls up again by intent id: the approved one runs, once.
    const agent = new TriageAgent(warden.resumeRun(bulk.runId, { workflow: 'support-triage' }));
    const done = await agent.act(bulk.tool, { ...bulk.args }, { intentId: bulk.intentId });
    expect(done.status).toBe('executed');
    const refused = await warden
      .resumeRun(injected.runId)
      .call(injected.tool, { ...injected.args }, { intentId: injected.intentId })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApprovalDeniedError);

    for (let id = 13; id <= 23; id++) expect((await ticket(id))?.status).toBe('closed');
    for (const untouched of [1, 2, 3, 4, 7, 9, 11]) {
      expect((await ticket(untouched))?.status).not.toBe('closed');
    }
    const bulkWrites = (await writes()).filter((write) => write.idempotency_key === bulk.intentId);
    expect(bulkWrites).toHaveLength(1);
  });

  it('ends a triage in the same state, with no write twice, when services are killed mid-run', async () => {
    await helpdesk.admin('POST', '/reset');
    // A slower helpdesk keeps the triage at work for several seconds, so that the kills below
    // land mid-run however fast the stages answer.
    await helpdesk.admin('POST', '/faults', { delay_ms: 250 });
    const kills: StackService[] = [
      'tool-executor',
      'cost-governor',
      'policy-decision',
      'identity-broker',
      'trace-collector',
    ];
    const triage = SCENARIOS.find((scenario) => scenario.name === 'triage');
    if (triage === undefined) throw new Error('no triage scenario');
    const progress = { finished: false };
    const running = runScenario(triage, context).finally(() => (progress.finished = true));
    const midRun: StackService[] = [];
    for (const service of kills) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      if (!progress.finished) midRun.push(service);
      await stack.kill(service);
      await stack.restart(service);
    }
    const result = await running;
    await helpdesk.admin('POST', '/faults', {});
    // The agent was still at work when the stages it depends on died.
    expect(midRun.slice(0, 3)).toEqual(['tool-executor', 'cost-governor', 'policy-decision']);
    expect(result.ok, result.summary).toBe(true);

    const fields = (list: Ticket[]) =>
      list.map(({ id, status, priority, tags, notes }) => ({
        id,
        status,
        priority,
        tags,
        notes: notes.map((note) => note.body),
      }));
    expect(fields(await tickets())).toEqual(fields(triaged));
    const keys = (await writes()).map((write) => write.idempotency_key);
    expect(new Set(keys).size).toBe(keys.length);
  }, 240_000);

  it('replays every decision of every run above exactly, the killed ones included', async () => {
    const replayed = await waitFor(
      () => {
        const result = cli(reference.adminToken, [
          ...['replay', '--workflow', WORKFLOW, '--since', '1h', '--json'],
        ]);
        expect(result.status, result.stderr).toBe(0);
        const summary = JSON.parse(result.stdout) as {
          runs: number;
          decisions: number;
          changed: number;
          unreadable: number;
        };
        // The scenarios, and the triage played again while services were killed.
        return summary.runs >= SCENARIOS.length + 1 ? summary : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1_000, message: 'every run in the audit log' },
    );
    expect(replayed.decisions).toBeGreaterThan(20);
    expect([replayed.changed, replayed.unreadable]).toEqual([0, 0]);
  }, 60_000);
});
