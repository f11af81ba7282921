import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import ora from 'ora';
import { adminToken } from '../demo/demo-identity.js';
import {
  summarize,
  junitXml,
  printReport,
  type EvalReport,
  type SuiteReport,
} from '../eval/eval-report.js';
import { runningStack, startEmbeddedStack, type EvalStack } from '../eval/eval-stack.js';
import { stackSources, type DecisionSources } from '../eval/intent-cases.js';
import { evaluateSuite } from '../eval/run-eval.js';
import { loadSuites, type Suite } from '../eval/suite.js';
import { CliError, printJson } from '../output.js';
import { tokenOption, type AdminOptions } from './admin-options.js';
import { envOption, natsOption } from './common-options.js';

interface EvalOptions extends AdminOptions {
  junit?: string;
  policies?: string[];
  schema?: string;
  running?: boolean;
  state: string;
  runs: boolean;
  logLevel: string;
}

/** `warden eval <suite.yaml…>`: golden cases that gate a release (DESIGN §8, issue 9). */
export function evalCommand(): Command {
  return new Command('eval')
    .description(
      'check golden cases: intents against their expected decision, scripted agent runs against their expected helpdesk; exit 1 on any failure',
    )
    .argument('<suites...>', 'suite files (YAML)')
    .option('--junit <file>', 'also write a JUnit XML report there (one testcase per case)')
    .option('--json', 'print JSON for scripts')
    .option(
      '--policies <paths...>',
      "decide intents with these policy files instead of each suite's",
    )
    .option('--schema <file>', 'the Cedar schema for --policies (default: the shipped one)')
    .option(
      '--running',
      'use the running stack (`warden up`, found through --state): its active policies and tools for suites that name none, and it plays the runs',
    )
    .option('--no-runs', 'skip run cases (reported as skipped): no stack is started')
    .option('--state <dir>', 'with --running: where `warden up` keeps its state', '.warden')
    .addOption(envOption())
    .addOption(natsOption())
    .addOption(tokenOption())
    .addOption(
      new Option('--log-level <level>', "the embedded stack's service log level")
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
        .default('error'),
    )
    .addHelpText(
      'after',
      `
A suite (test/golden/README.md has the whole format):

  name: support-triage
  policies: ../../examples/support-triage/policies   # optional, relative to the suite
  tools: ../../examples/support-triage/tools         # optional
  agents:
    triage: { agent_id: triage-1, owner: alice, domains: [support], tool_groups: [zendesk] }
  cases:
    - name: payroll is forbidden
      intent: { agent: triage, tool: payroll.run, args: { period: 2026-11-01 } }
      expect: { effect: deny, reason: forbidden, policy_ids: [no-payroll] }
    - name: routine triage
      run: { scenario: triage }
      expect:
        helpdesk: { tickets: { 1: { status: open, priority: high } }, untouched: [4, 7] }
        approvals: 0
        cost_max_usd: 0.01

Intent cases are decided in this process by the policy stage's own function (args validation,
risk, Cedar), with the suite's policies and tools, --policies, the running stack's active
version (--running, for suites that name none), or else the reference set. Effects: allow, deny,
approval_required, rejected (invalid args). Run cases play a reference scenario (\`warden demo\`'s)
with the triage agent on a whole stack, in the order listed, on one helpdesk: by default one
this command starts and stops (NATS, a freshly seeded helpdesk, the five services, the reference
setup, in a fresh env; it publishes --policies or the suite's policies, if named), or with
--running the stack \`npm start\` runs, under its active policies and on its helpdesk as it is.

Exit codes: 0 every case passed, 1 a case failed, 2 a suite is malformed.

Examples:
  warden eval test/golden/support-triage.yaml --no-runs
  warden eval test/golden/support-triage.yaml --junit eval.xml
  warden eval test/golden/*.yaml --policies my-policies/ --no-runs
  warden eval test/golden/support-triage.yaml --running --json`,
    )
    .action(async (files: string[], options: EvalOptions) => {
      const report = await evaluate(files, options);
      if (options.junit !== undefined) await writeFile(options.junit, junitXml(report));
      if (options.json) printJson(report);
      else printReport(report);
      if (!report.ok) process.exitCode = 1;
    });
}

/** Loads every suite (all problems of all files at once), then evaluates them in order. */
async function evaluate(files: readonly string[], options: EvalOptions): Promise<EvalReport> {
  const suites = await loadSuites(files);
  const hasRuns = suites.some((suite) => suite.cases.some((entry) => entry.kind === 'run'));
  let stack: EvalStack | undefined;
  let sources: DecisionSources | undefined;
  const reports: SuiteReport[] = [];
  try {
    if (options.running) {
      const token =
        options.token ??
        (await adminToken({ env: options.env, nats: options.nats, stateDir: options.state }));
      const admin = { ...options, token };
      if (hasRuns && options.runs) stack = runningStack({ ...admin, state: options.state });
      sources = await stackSources(admin);
    } else if (hasRuns && options.runs) {
      stack = await startEmbedded(options, runPolicies(suites, options));
    }
    for (const suite of suites) {
      reports.push(
        await evaluateSuite(suite, {
          env: options.env,
          ...(options.policies === undefined ? {} : { policies: options.policies }),
          ...(options.schema === undefined ? {} : { schema: options.schema }),
          ...(sources === undefined ? {} : { stackSources: sources }),
          ...(stack === undefined ? {} : { runTarget: stack }),
          skipRuns: '--no-runs',
        }),
      );
    }
  } finally {
    await stack?.stop();
  }
  return summarize(reports);
}

/**
 * The policies an embedded stack publishes for the run cases: --policies, else those the suites
 * with run cases name (one stack plays them all, so they must agree), else the reference set.
 */
function runPolicies(
  suites: readonly Suite[],
  options: EvalOptions,
): { policies: readonly string[]; schema?: string } | undefined {
  if (options.policies !== undefined) {
    return {
      policies: options.policies,
      ...(options.schema === undefined ? {} : { schema: options.schema }),
    };
  }
  const named = suites
    .filter((suite) => suite.cases.some((entry) => entry.kind === 'run'))
    .map((suite) => ({
      key: JSON.stringify([suite.policies, suite.schema]),
      file: suite.file,
      policies: suite.policies,
      schema: suite.schema,
    }));
  const first = named[0];
  if (first === undefined || first.policies === undefined) {
    if (named.some((one) => one.policies !== undefined)) throw disagree(named);
    return undefined;
  }
  if (named.some((one) => one.key !== first.key)) throw disagree(named);
  return {
    policies: first.policies,
    ...(first.schema === undefined ? {} : { schema: first.schema }),
  };
}

function disagree(named: readonly { file: string }[]): CliError {
  return new CliError(
    `the suites with run cases (${named.map((one) => one.file).join(', ')}) name different policies, and one stack plays them all`,
    'Evaluate them one at a time, or pass --policies.',
    2,
  );
}

/** The embedded stack, with its progress on stderr (stdout is the report). */
async function startEmbedded(
  options: EvalOptions,
  policies: { policies: readonly string[]; schema?: string } | undefined,
): Promise<EvalStack> {
  const spinner = ora({
    text: 'Starting an embedded stack for the run cases',
    stream: process.stderr,
  }).start();
  try {
    const stack = await startEmbeddedStack({
      nats: options.nats,
      logLevel: options.logLevel,
      ...policies,
      progress: (line) => (spinner.text = `Starting an embedded stack: ${line}`),
    });
    spinner.succeed(`Run cases play on ${stack.describe}`);
    return stack;
  } catch (error) {
    spinner.fail('The embedded stack did not start');
    throw error;
  }
}
