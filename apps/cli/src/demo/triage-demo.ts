import { AuditSqlResult, formatUsd } from '@warden/contracts';
import { Warden } from '@warden/sdk';
import {
  APPROVER,
  ModelClassifier,
  runScenario,
  SCENARIOS,
  TRIAGE_AGENT,
  type ScenarioResult,
} from '@warden/support-triage';
import { envFlagFor } from '../commands/common-options.js';
import { askCollector } from '../commands/audit.command.js';
import { CliError, printTable } from '../output.js';
import { humanSecretFile } from './demo-identity.js';
import { failHelpdesk } from './helpdesk-process.js';

/** What the demo did: every scenario's result, and what each run cost. */
export interface TriageReport {
  readonly env: string;
  readonly agentId: string;
  readonly results: readonly ScenarioResult[];
  /** Micro-USD booked per run id (the audit log's `run_costs`), where known. */
  readonly costs: Readonly<Record<string, number>>;
}

/** How long the report waits for the audit log to hold every settlement. */
const COSTS_TIMEOUT_MS = 10_000;

/**
 * Runs the reference scenarios (issue 8 §4) with the triage agent against a running Warden and
 * the reference helpdesk: one run each, in order. `onResult` hears each as it ends (progress).
 */
export async function runTriageDemo(options: {
  servers: string;
  env: string;
  agentSecret: string;
  helpdesk: { url: string; adminToken: string };
  scenarios?: readonly string[];
  onStart?: (title: string) => void;
  onResult?: (result: ScenarioResult) => void;
}): Promise<TriageReport> {
  const chosen =
    options.scenarios === undefined || options.scenarios.length === 0
      ? SCENARIOS
      : SCENARIOS.filter((scenario) => options.scenarios?.includes(scenario.name));
  const warden = await Warden.connect({
    servers: options.servers,
    env: options.env,
    agentId: TRIAGE_AGENT.agent_id,
    credential: { clientSecret: options.agentSecret },
  });
  const results: ScenarioResult[] = [];
  try {
    const classifier = modelClassifierFromEnv();
    const context = {
      warden,
      failHelpdesk: (count: number) =>
        failHelpdesk(options.helpdesk.url, options.helpdesk.adminToken, count),
      ...(classifier === undefined ? {} : { classifier }),
    };
    for (const scenario of chosen) {
      options.onStart?.(scenario.title);
      const result = await runScenario(scenario, context);
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    await warden.close();
  }
  const costs = await runCosts(options, results);
  return { env: options.env, agentId: TRIAGE_AGENT.agent_id, results, costs };
}

/**
 * The model the agent asks instead of its rules when `OPENAI_BASE_URL` is set (any
 * OpenAI-compatible endpoint; `OPENAI_API_KEY` and `OPENAI_MODEL` optional: without a model name,
 * the one Warden's routing picks is sent).
 */
function modelClassifierFromEnv(): ModelClassifier | undefined {
  const baseUrl = process.env['OPENAI_BASE_URL'];
  if (baseUrl === undefined || baseUrl === '') return undefined;
  if (!URL.canParse(baseUrl)) {
    throw new CliError(
      `OPENAI_BASE_URL is not a URL: ${JSON.stringify(baseUrl)}`,
      'Set it to an OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1, or unset it to use the rules.',
    );
  }
  const apiKey = process.env['OPENAI_API_KEY'];
  const model = process.env['OPENAI_MODEL'];
  return new ModelClassifier({
    baseUrl,
    ...(apiKey === undefined || apiKey === '' ? {} : { apiKey }),
    ...(model === undefined || model === '' ? {} : { model }),
  });
}

/** What each run cost, once the audit log holds a settlement for every call that ran. */
async function runCosts(
  options: { servers: string; env: string },
  results: readonly ScenarioResult[],
): Promise<Record<string, number>> {
  const ran = (result: ScenarioResult) =>
    result.steps.filter((step) => step.status === 'executed' || step.status === 'failed').length;
  const deadline = Date.now() + COSTS_TIMEOUT_MS;
  for (;;) {
    const { rows } = await askCollector(
      { env: options.env, nats: options.servers },
      'sql',
      {
        sql: 'SELECT run_id, settled_calls, cost_micro_usd FROM run_costs WHERE env = {env:String} AND run_id IN {runs:Array(String)}',
        params: { env: options.env, runs: results.map((result) => result.runId) },
      },
      AuditSqlResult,
    );
    const byRun = new Map(rows.map((row) => [String(row.run_id), row]));
    const complete = results.every(
      (result) => Number(byRun.get(result.runId)?.settled_calls ?? 0) >= ran(result),
    );
    if (complete || Date.now() > deadline) {
      return Object.fromEntries(
        [...byRun].map(([runId, row]) => [runId, Number(row.cost_micro_usd)]),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The report `warden up` and `warden demo` print: what happened, what waits, what it cost. */
export function printTriageReport(report: TriageReport, stateDir: string): void {
  const envFlag = envFlagFor(report.env);
  const write = (text: string) => process.stdout.write(`${text}\n`);
  write(`\nThe support-triage agent "${report.agentId}" ran ${report.results.length} scenarios:`);
  printTable(
    ['scenario', 'as expected', 'what happened', 'calls', 'cost', 'run'],
    report.results.map((result) => ({
      scenario: result.name,
      'as expected': result.ok ? 'yes' : `NO (expected: ${result.expected})`,
      'what happened': result.summary,
      calls: result.steps.length,
      cost: `$${formatUsd(report.costs[result.runId] ?? 0)}`,
      run: result.runId,
    })),
  );
  // One row per scenario, tool and reason: a run refused ten times for one cause is one line.
  const denied = new Map<string, Record<string, string | number>>();
  for (const result of report.results) {
    for (const step of result.steps) {
      if (step.status !== 'denied' && step.status !== 'rejected') continue;
      const key = `${result.name} ${step.tool} ${step.reason ?? ''}`;
      const row = denied.get(key);
      if (row !== undefined) row['times'] = Number(row['times']) + 1;
      else
        denied.set(key, {
          scenario: result.name,
          tool: step.tool,
          reason: step.reason ?? '',
          policies: (step.policyIds ?? []).join(', '),
          times: 1,
        });
    }
  }
  if (denied.size > 0) {
    write('\nDenied, and why:');
    printTable(['scenario', 'tool', 'reason', 'policies', 'times'], [...denied.values()]);
  }
  const pending = report.results.flatMap((result) => result.pending);
  const total = Object.values(report.costs).reduce((sum, cost) => sum + cost, 0);
  write(`\nTotal cost: $${formatUsd(total)}`);
  if (pending.length > 0) {
    write('\nWaiting for a support lead (the agent may not run these until one approves):');
    for (const approval of pending) {
      const count = Array.isArray(approval.args['ticket_ids'])
        ? ` of ${approval.args['ticket_ids'].length} tickets`
        : '';
      write(
        `  ${approval.approvalId}  ${approval.tool}${count} (${approval.scenario}; policy ${approval.policyIds.join(', ')})`,
      );
    }
    write(
      [
        `As the lead: npm run warden -- login --user ${APPROVER} --secret-file ${humanSecretFile(stateDir, report.env, APPROVER)}${envFlag}`,
        `             npm run warden -- approvals list${envFlag}`,
        `             npm run warden -- approvals approve <approval_id> --reason "checked"${envFlag}   (or deny)`,
      ].join('\n'),
    );
  }
  const first = report.results[0];
  if (first !== undefined) {
    write(
      `\nWhy did it do that? Each run's timeline: npm run warden -- runs timeline ${first.runId}${envFlag}`,
    );
  }
}

/** Fails when the demo's scenarios did not all end as expected (`warden demo --check`). */
export function checkTriageReport(report: TriageReport): void {
  const failed = report.results.filter((result) => !result.ok);
  if (failed.length > 0) {
    throw new CliError(
      `${failed.length} scenario(s) did not end as expected: ${failed.map((result) => result.name).join(', ')}`,
      "Each run's timeline (`warden runs timeline <run>`) shows what happened.",
    );
  }
}
