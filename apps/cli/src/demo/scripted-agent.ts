import { Warden, WardenCallError } from '@warden/sdk';
import { connectNats } from '@warden/messaging';
import { ensureDemoGovernance } from './demo-governance.js';
import { demoAgentSecret } from './demo-identity.js';

/** One call the scripted agent made, and what Warden answered. */
export interface DemoCall {
  readonly tool: string;
  readonly args: Record<string, unknown>;
  /** What the call is meant to show. */
  readonly expect: string;
  readonly intentId: string;
  readonly status: string;
  readonly stage: string;
  readonly reason: string;
  readonly ms: number;
}

/** What the demo did: the run, and every call in order. */
export interface DemoReport {
  readonly agentId: string;
  readonly runId: string;
  readonly calls: DemoCall[];
}

const SCRIPT: { tool: string; args: Record<string, unknown>; expect: string }[] = [
  { tool: 'echo', args: { text: 'hello from the demo agent' }, expect: 'allowed, executed' },
  { tool: 'sleep', args: { ms: 100 }, expect: 'allowed, executed after 100 ms' },
  {
    tool: 'echo',
    args: { text: 'card 4111 1111 1111 1111, mail jane@example.com' },
    expect: 'executed; the audit log stores it redacted',
  },
  { tool: 'fail', args: { message: 'boom' }, expect: 'denied: no policy permits it' },
  { tool: 'payments.refund', args: { amount_usd: 5 }, expect: 'denied: no such tool' },
];

/**
 * A small agent written with the SDK: one run, a few allowed and denied calls, each answered by
 * the whole mesh (identity → policy → budget → executor). It never throws for a denial: a denial
 * is an answer, and the report shows it.
 */
export async function runScriptedAgent(options: {
  servers: string;
  env: string;
  agentId?: string;
  /** Where `warden up` keeps its state (the bootstrap admin's secret, the demo agent's). */
  stateDir: string;
}): Promise<DemoReport> {
  const agentId = options.agentId ?? 'demo-agent';
  const admin = await connectNats({ servers: options.servers, name: 'warden-demo-admin' });
  let clientSecret: string;
  try {
    await ensureDemoGovernance(admin, { env: options.env, stateDir: options.stateDir });
    clientSecret = await demoAgentSecret(admin, {
      env: options.env,
      stateDir: options.stateDir,
      agentId,
    });
  } finally {
    await admin.close();
  }
  const warden = await Warden.connect({
    servers: options.servers,
    env: options.env,
    agentId,
    credential: { clientSecret },
  });
  try {
    const run = await warden.startRun({ workflow: 'demo', limits: { maxSteps: 20 } });
    const calls: DemoCall[] = [];
    for (const step of SCRIPT) {
      const started = performance.now();
      try {
        const result = await run.call(step.tool, step.args);
        calls.push({
          ...step,
          intentId: result.intentId,
          status: result.status,
          stage: 'executor',
          reason: result.reason ?? '',
          ms: Math.round(performance.now() - started),
        });
      } catch (error) {
        if (!(error instanceof WardenCallError)) throw error;
        calls.push({
          ...step,
          intentId: error.intentId,
          status: error.status,
          stage: error.stage,
          reason: error.reason ?? '',
          ms: Math.round(performance.now() - started),
        });
      }
    }
    await run.end({ status: 'succeeded', outcome: `${calls.length} calls` });
    return { agentId, runId: run.runId, calls };
  } finally {
    await warden.close();
  }
}
