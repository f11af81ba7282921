import { Command } from 'commander';
import { CliError, printJson } from '../output.js';
import {
  callIdentityAdmin,
  checkId,
  type AdminOptions,
  withAdminOptions,
} from './admin-options.js';

interface RevokeOptions extends AdminOptions {
  jti?: string;
  agent?: string;
  all?: boolean;
  reason?: string;
}

/** `warden revoke`: revoke one token, or every token of an agent issued until now. */
export function revokeCommand(): Command {
  return withAdminOptions(new Command('revoke'))
    .description(
      "revoke a token (--jti) or all of an agent's tokens (--agent --all); effective on the next intent",
    )
    .option('--jti <jti>', 'the id of one token (see credential.issued in the audit log)')
    .option('--agent <agent_id>', 'the agent whose tokens to revoke (with --all)')
    .option('--all', 'every token of --agent issued until now')
    .option('--reason <text>', 'why, for the audit log')
    .addHelpText(
      'after',
      '\nExamples:\n  warden revoke --jti 01JD3ZK5V7Q8X2N4M6P8R0T2W4\n  warden revoke --agent support-triage-1 --all --reason "key leaked in a prompt"',
    )
    .action(async (options: RevokeOptions) => {
      const reason = options.reason === undefined ? {} : { reason: options.reason };
      let body;
      if (options.jti !== undefined && options.agent === undefined && options.all !== true) {
        body = { jti: options.jti, ...reason };
      } else if (options.jti === undefined && options.agent !== undefined && options.all === true) {
        body = { agent_id: checkId('agent', options.agent), all_tokens: true as const, ...reason };
      } else {
        throw new CliError(
          'say what to revoke: either --jti <jti>, or --agent <agent_id> --all',
          'Run `warden revoke --help` for examples.',
        );
      }
      const result = await callIdentityAdmin(options, 'revoke', body);
      if (options.json) printJson(result);
      else if (result.jti !== undefined) process.stdout.write(`token ${result.jti} revoked\n`);
      else {
        process.stdout.write(
          `every token of agent ${result.agent_id ?? options.agent ?? ''} issued before ${result.issued_before ?? 'now'} revoked\n`,
        );
      }
    });
}
