import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Envelope, EventType } from '@warden/contracts';
import { connectNats, removeEnv } from '@warden/messaging';
import { BUILTIN_POLICY_FILES, builtinToolSources, shippedSchemaText } from '@warden/policy';
import { DeniedError, type Warden, type Run } from '@warden/sdk';
import {
  ApiRefusal,
  auditSql,
  callPolicy,
  eventsOfType,
  humanWithToken,
  makeTempDir,
  removeTempDir,
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMain, ROOT, runWarden } from './support/processes.js';
import { connectTriageAgent, exampleFiles } from './support/triage.js';
import { Stack } from './support/stack.js';

/**
 * Issue 5 across processes: tools and policy versions registered with the `warden` CLI by humans
 * whose tokens the identity broker verifies, intents from an SDK agent decided by Cedar, and an
 * approval answered by a named human of the right group.
 */
describe('policy decision: tools, policy versions, approvals', () => {
  const env = uniqueEnv('policy-e2e');
  let nats: TestNats;
  let nc: NatsConnection;
  let dir: string;
  let stack: Stack;
  let agent: Warden;
  let run: Run;
  const tokens: Record<string, string> = {};

  /** Runs `warden …` as human `as`; returns its exit status and output. */
  const warden = (as: string, ...args: string[]) =>
    runWarden({ env, natsUrl: nats.url }, args, { WARDEN_TOKEN: tokens[as] ?? '' });
  const json = (as: string, ...args: string[]): unknown => {
    const result = warden(as, ...args, '--json');
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  };

  /** The first event of `type` of an intent. */
  const eventOf = <T extends EventType>(type: T, intentId: string) =>
    waitFor(
      async () =>
        (await eventsOfType(nc, env, type)).find((e) => e.intent_id === intentId) as
          Envelope<T> | undefined,
      {
        timeoutMs: 15_000,
        message: `${type} of ${intentId}`,
      },
    );

  /** Starts a call and returns its intent id; the outcome is collected, never left unhandled. */
  const propose = (tool: string, args: Record<string, unknown>) => {
    const intentId = ulid();
    const outcome = run
      // A call that needs an approval waits for the human's answer, as the agent would.
      .call(tool, args, { intentId, timeoutMs: 75_000, waitForApproval: 75_000 })
      .catch((error: unknown) => error);
    return { intentId, outcome };
  };

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'policy-e2e' });
    dir = await makeTempDir('warden-policy-e2e-');
    stack = await Stack.start({
      env,
      natsUrl: nats.url,
      dataDir: join(dir, 'data'),
      seedBuiltins: false,
      serviceEnv: (service): Record<string, string> =>
        service === 'policy-decision'
          ? { POLICY_APPROVAL_TTL_SECONDS: '50', POLICY_APPROVAL_SWEEP_MS: '250' }
          : {},
    });
    tokens.admin = await humanWithToken(nc, env, 'ops-admin', ['admin']);
    tokens.lead = await humanWithToken(nc, env, 'lead', ['support-leads']);
    tokens.alice = await humanWithToken(nc, env, 'alice', ['support-leads']);
    tokens.bob = await humanWithToken(nc, env, 'bob', []);
    ({ agent, run } = await connectTriageAgent(nc, nats.url, env));
  }, 120_000);

  afterAll(async () => {
    await agent.close();
    await stack.stop();
    await removeEnv(nc, env);
    await nc.close();
    await removeTempDir(dir);
    await nats.stop();
  }, 60_000);

  it('denies every intent while no policy version is published', async () => {
    const files = builtinToolSources().map(({ file, source }) => {
      const path = join(dir, file);
      writeFileSync(path, source);
      return path;
    });
    const registered = warden('admin', 'tools', 'register', ...files);
    expect(registered.status, registered.stderr).toBe(0);
    const error = await run.call('echo', { text: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeniedError);
    expect(error).toMatchObject({ stage: 'policy', reason: 'no_policy' });
  });

  it('refuses a malformed tool declaration with the path and reason of every error', () => {
    const bad = join(dir, 'bad-tool.yaml');
    writeFileSync(bad, 'name: Bad Name\nversion: 0\nkind: delete\n');
    const refused = warden('admin', 'tools', 'register', bad);
    expect(refused.status).toBe(1);
    for (const path of ['name', 'version', 'kind', 'domain']) {
      expect(refused.stdout).toMatch(new RegExp(`bad-tool\\.yaml(:\\d+(:\\d+)?)? ${path}\\b`));
    }
  });

  it('refuses a policy set with a type error, an unknown attribute or a syntax error as a whole', async () => {
    const broken = [
      {
        name: 'types.cedar',
        text: 'permit (principal, action, resource)\nwhen { context.run.step == "one" };',
      },
      {
        name: 'attrs.cedar',
        text: 'permit (principal, action, resource)\nwhen { principal.favourite_colour == "red" };',
      },
      { name: 'syntax.cedar', text: 'permit (principal, action resource);' },
      ...BUILTIN_POLICY_FILES,
    ];
    const refusal = await callPolicy(
      nc,
      env,
      'policy-publish',
      { schema: shippedSchemaText(), files: broken, message: 'broken' },
      tokens.admin ?? '',
    ).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ApiRefusal);
    const { code, details } = refusal as ApiRefusal;
    expect(code).toBe('invalid_policy_set');
    const paths = details.map((detail) => detail.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^types\.cedar:2/),
        expect.stringMatching(/^attrs\.cedar:2/),
        expect.stringMatching(/^syntax\.cedar:1/),
      ]),
    );
    // The CLI refuses the same set locally, before anything is sent.
    const folder = join(dir, 'broken');
    mkdirSync(folder);
    for (const file of broken) writeFileSync(join(folder, file.name), file.text);
    const validated = spawnSync(
      process.execPath,
      [appMain('cli'), 'policies', 'validate', folder],
      {
        encoding: 'utf8',
      },
    );
    expect(validated.status).toBe(1);
    expect(validated.stdout + validated.stderr).toMatch(/syntax\.cedar:1/);
    expect(json('admin', 'policies', 'list')).toMatchObject({ active: 0 });
  });

  it('publishes the reference policies and decides each scenario under them', async () => {
    const builtin = join(dir, 'builtin.cedar');
    writeFileSync(builtin, BUILTIN_POLICY_FILES[0]?.text ?? '');
    const tools = warden('admin', 'tools', 'register', ...exampleFiles('tools'));
    expect(tools.status, tools.stderr).toBe(0);
    const published = json(
      'admin',
      'policies',
      'publish',
      join(ROOT, 'examples/support-triage/policies'),
      builtin,
      '--message',
      'support-triage reference policies',
    );
    expect(published).toMatchObject({ version: { version: 1 } });

    const payroll = await run
      .call('payroll.run', { period: '2026-11-01' })
      .catch((e: unknown) => e);
    expect(payroll).toBeInstanceOf(DeniedError);
    expect(payroll).toMatchObject({ reason: 'forbidden', policyIds: ['no-payroll'] });

    const read = propose('zendesk.get_ticket', { ticket_id: 7 });
    const decided = await eventOf('policy.decided', read.intentId);
    expect(decided.data).toMatchObject({
      effect: 'allow',
      policy_version: 1,
      determining_policy_ids: ['reads-in-domain'],
    });
    await read.outcome;

    // Every decision names the version in force, and the log can say which policies decided it.
    const rows = await waitFor(async () => {
      const found = await auditSql(
        nc,
        env,
        `SELECT toUInt32(JSONExtractUInt(data, 'policy_version')) AS version,
                JSONExtract(data, 'determining_policy_ids', 'Array(String)') AS policies
           FROM events WHERE env = {env:String} AND type = 'policy.decided' AND intent_id = {intent:String}`,
        { env, intent: read.intentId },
      );
      return found.length > 0 ? found : undefined;
    });
    expect(rows).toEqual([{ version: 1, policies: ['reads-in-domain'] }]);
  });

  it('binds an approval to a named member of the group and to the exact args', async () => {
    const ticketIds = Array.from({ length: 11 }, (_, i) => 200 + i);
    const bulk = propose('zendesk.bulk_close', { ticket_ids: ticketIds, reason: 'spam' });
    const requested = await eventOf('approval.requested', bulk.intentId);
    const id = requested.data.approval_id;
    const pending = json('bob', 'approvals', 'list', '--status', 'pending') as {
      approval_id: string;
    }[];
    expect(pending.map((a) => a.approval_id)).toContain(id);

    // A retried intent with other args is a new approval: this one's hash does not cover it.
    const other = propose('zendesk.bulk_close', {
      ticket_ids: [...ticketIds, 999],
      reason: 'spam',
    });
    const otherRequest = await eventOf('approval.requested', other.intentId);
    expect(otherRequest.data.args_hash).not.toBe(requested.data.args_hash);
    const mismatch = warden(
      'lead',
      'approvals',
      'approve',
      id,
      '--reason',
      'ok',
      '--args-hash',
      otherRequest.data.args_hash,
    );
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toMatch(/args/i);

    const outsider = warden('bob', 'approvals', 'approve', id, '--reason', 'looks fine');
    expect(outsider.status).toBe(1);
    expect(outsider.stderr).toMatch(/support-leads/);
    const owner = warden('alice', 'approvals', 'approve', id, '--reason', 'my own agent');
    expect(owner.status).toBe(1);
    expect(owner.stderr).toMatch(/separation of duties/i);

    const granted = warden(
      'lead',
      'approvals',
      'approve',
      id,
      '--reason',
      'spam wave confirmed',
      '--args-hash',
      requested.data.args_hash,
    );
    expect(granted.status, granted.stderr).toBe(0);
    const grant = await eventOf('approval.granted', bulk.intentId);
    expect(grant.data).toMatchObject({
      approval_id: id,
      approver: 'human:lead',
      comment: 'spam wave confirmed',
      args: { ticket_ids: ticketIds, reason: 'spam' },
      args_hash: requested.data.args_hash,
      cost_micro_usd: 1000,
    });
    // The grant lets the intent go on: the governor reserves its price and the executor answers
    // (this env has no `helpdesk` upstream, so the executor resolves it failed, tool_misconfigured).
    const reserved = await eventOf('budget.reserved', bulk.intentId);
    expect(reserved.data).toMatchObject({ tool: 'zendesk.bulk_close', reserved_micro_usd: 1000 });
    expect(await bulk.outcome).toMatchObject({ status: 'failed', reason: 'tool_misconfigured' });

    // Nobody answers the other one: it expires (TTL 50 s here, so that the CLI calls above fit in
    // it on a loaded machine), the intent is denied, and a late approval is refused.
    const expired = await other.outcome;
    expect(expired).toBeInstanceOf(DeniedError);
    expect(expired).toMatchObject({ stage: 'approval', reason: 'approval_expired' });
    const late = warden(
      'lead',
      'approvals',
      'approve',
      otherRequest.data.approval_id,
      '--reason',
      'too late',
    );
    expect(late.status).toBe(1);
    expect(late.stderr).toMatch(/expired/);
  }, 120_000);

  it('rolls back to an earlier version by publishing its content as a new version', () => {
    const shadow = join(dir, 'strict');
    mkdirSync(shadow);
    writeFileSync(join(shadow, 'none.cedar'), '// nothing is permitted\n');
    expect(warden('admin', 'policies', 'publish', shadow, '--message', 'lockdown').status).toBe(0);
    const rolled = json('admin', 'policies', 'rollback', '1', '--message', 'undo the lockdown');
    expect(rolled).toMatchObject({ version: { version: 3, rollback_of: 1 } });
    const diff = warden('admin', 'policies', 'diff', '2', '3');
    expect(diff.status, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/reads\.cedar/);
  });
});
