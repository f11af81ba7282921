import { SCENARIO_NAMES } from '@warden/support-triage';
import { Command, Option } from 'commander';
import { runningDeployment } from '../demo/running-deployment.js';
import {
  checkTriageReport,
  printTriageReport,
  runTriageDemo,
  type TriageReport,
} from '../demo/triage-demo.js';
import { printJson } from '../output.js';
import { envOption, natsOption, type ConnectionOptions } from './common-options.js';

interface DemoOptions extends ConnectionOptions {
  state: string;
  scenario?: string[];
  json?: boolean;
}

/** `warden demo`: the support-triage agent's scenarios again, against a running `warden up`. */
export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run the support-triage agent through its scenarios against a running Warden, and report',
    )
    .addOption(envOption())
    .addOption(natsOption())
    .option(
      '--state <dir>',
      'where `warden up` keeps its state (agent secret, helpdesk)',
      '.warden',
    )
    .addOption(
      new Option('--scenario <name...>', 'only these scenarios (default: all)').choices(
        SCENARIO_NAMES,
      ),
    )
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      `
Each scenario is a run of its own, ending in a state the report checks: routine triage executed,
a payroll run denied by policy, a prompt injection's bulk close held for approval, a bulk close
waiting for a support lead, a runaway loop halted, a run over its budget denied, and a helpdesk
outage that opens the breaker and recovers. Exits 1 if one did not end as expected.

Examples (with \`npm start\` running in another terminal):
  npm run warden -- demo
  npm run warden -- demo --scenario payroll prompt-injection --json`,
    )
    .action(async (options: DemoOptions) => {
      const report = await runDemo(options);
      if (options.json) printJson(report);
      else printTriageReport(report, options.state);
      checkTriageReport(report);
    });
}

/** The demo against the `warden up` whose state is in `options.state`. */
async function runDemo(options: DemoOptions): Promise<TriageReport> {
  const deployment = runningDeployment(options.state, options.env);
  return runTriageDemo({
    servers: options.nats,
    env: options.env,
    agentSecret: deployment.agentSecret,
    helpdesk: { url: deployment.helpdesk.url, adminToken: deployment.helpdesk.adminToken },
    ...(options.scenario === undefined ? {} : { scenarios: options.scenario }),
  });
}
