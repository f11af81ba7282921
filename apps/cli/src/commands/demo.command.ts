import { Command } from 'commander';
import { runScriptedAgent, type DemoReport } from '../demo/scripted-agent.js';
import { CliError, printJson, printTable } from '../output.js';
import { envOption, natsOption, type ConnectionOptions } from './common-options.js';

/** `warden demo`: a scripted agent makes a few allowed and denied calls against a running Warden. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('run a small scripted agent against a running Warden and show what happened')
    .addOption(envOption())
    .addOption(natsOption())
    .option('--agent <id>', 'the agent id the script uses (registered on first use)', 'demo-agent')
    .option(
      '--state <dir>',
      'where `warden up` keeps its state (admin and agent secrets)',
      '.warden',
    )
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExample (with `npm start` running):\n  npm run warden -- demo')
    .action(
      async (options: ConnectionOptions & { agent: string; state: string; json?: boolean }) => {
        const report = await runDemo(options.nats, options.env, options.state, options.agent);
        if (options.json) printJson(report);
        else printDemoReport(report, options.env);
      },
    );
}

/** Runs the scripted agent, turning "nothing answers" into advice. */
export async function runDemo(
  servers: string,
  env: string,
  stateDir: string,
  agentId?: string,
): Promise<DemoReport> {
  try {
    return await runScriptedAgent({ servers, env, stateDir, ...(agentId ? { agentId } : {}) });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `the demo agent could not finish: ${error instanceof Error ? error.message : String(error)}`,
      `Is Warden running for env "${env}"? Start it with \`npm start\` (or \`warden up --env ${env}\`).`,
    );
  }
}

/** The demo's calls as a table, and the commands that show the same run in the audit log. */
export function printDemoReport(report: DemoReport, env: string): void {
  process.stdout.write(
    `\nThe demo agent "${report.agentId}" made ${report.calls.length} calls in run ${report.runId}:\n`,
  );
  printTable(
    ['tool', 'expect', 'status', 'stage', 'reason', 'ms'],
    report.calls.map((call) => ({ ...call })),
  );
  const envFlag = env === 'dev' ? '' : ` --env ${env}`;
  process.stdout.write(
    [
      'Every step is in the audit log (a second or so after it happened):',
      `  npm run warden -- audit timeline ${report.runId}${envFlag}`,
      `  npm run warden -- audit sql "SELECT intent_id, tool, effect, status, reason FROM tool_calls WHERE run_id = {run:String} ORDER BY first_at" --param run=${report.runId}${envFlag}`,
      '',
    ].join('\n'),
  );
}
