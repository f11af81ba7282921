#!/usr/bin/env node
import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { agentsCommand } from './commands/agents.command.js';
import { approvalsCommand } from './commands/approvals.command.js';
import { auditCommand } from './commands/audit.command.js';
import { budgetsCommand } from './commands/budgets.command.js';
import { canaryCommand } from './commands/canary.command.js';
import { costsCommand } from './commands/costs.command.js';
import { demoCommand } from './commands/demo.command.js';
import { evalCommand } from './commands/eval.command.js';
import { executionsCommand } from './commands/executions.command.js';
import { runsCommand } from './commands/runs.command.js';
import { replayCommand } from './commands/replay.command.js';
import { humansCommand } from './commands/humans.command.js';
import { keysCommand } from './commands/keys.command.js';
import { natsCommand } from './commands/nats.command.js';
import { pauseCommand, pausedCommand, resumeCommand } from './commands/pause.command.js';
import { policiesCommand } from './commands/policies.command.js';
import { loginCommand, logoutCommand } from './commands/login.command.js';
import { revokeCommand } from './commands/revoke.command.js';
import { secretsCommand } from './commands/secrets.command.js';
import { serveCommand } from './commands/serve.command.js';
import { toolsCommand } from './commands/tools.command.js';
import { upCommand } from './commands/up.command.js';
import { CliError } from './output.js';

const program = new Command('warden')
  .description(
    'Warden: identity, policy, budgets and an audit log for AI agents that act on real systems',
  )
  .version('0.1.0')
  // warden's own options (--version) only before the subcommand: `canary start --version v2`.
  .enablePositionalOptions()
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addCommand(upCommand())
  .addCommand(auditCommand())
  .addCommand(costsCommand())
  .addCommand(demoCommand())
  .addCommand(serveCommand())
  .addCommand(loginCommand())
  .addCommand(logoutCommand())
  .addCommand(agentsCommand())
  .addCommand(humansCommand())
  .addCommand(revokeCommand())
  .addCommand(keysCommand())
  .addCommand(toolsCommand())
  .addCommand(policiesCommand())
  .addCommand(approvalsCommand())
  .addCommand(budgetsCommand())
  .addCommand(secretsCommand())
  .addCommand(executionsCommand())
  .addCommand(runsCommand())
  .addCommand(replayCommand())
  .addCommand(canaryCommand())
  .addCommand(evalCommand())
  .addCommand(pauseCommand())
  .addCommand(resumeCommand())
  .addCommand(pausedCommand())
  .addCommand(natsCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
}

/** Prints an error as a person should see it and returns the exit code. */
function report(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode;
  if (error instanceof CliError) {
    process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    return error.exitCode;
  }
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
