import { readFile } from 'node:fs/promises';
import { Ed25519PublicJwk, describeIssues, type AgentView } from '@warden/contracts';
import { Command, Option } from 'commander';
import { CliError, printJson, printTable } from '../output.js';
import { parseUsdToMicros } from '../usd.js';
import {
  callIdentityAdmin,
  checkId,
  type AdminOptions,
  withAdminOptions,
} from './admin-options.js';

const AGENT_COLUMNS = [
  'agent_id',
  'status',
  'owner',
  'domains',
  'environment',
  'risk_tier',
  'authentication_method',
  'updated_at',
];
const STATUSES = ['active', 'suspended', 'retired'] as const;

/** `warden agents …`: register agents and manage their lifecycle (identity broker admin APIs). */
export function agentsCommand(): Command {
  const agents = new Command('agents').description(
    'register agents, list them, suspend, resume or retire them (needs an admin login)',
  );

  withAdminOptions(agents.command('register'))
    .description('register an agent; prints its client secret once')
    .argument('<agent_id>', 'the new agent id (a-z, 0-9, "_", "-"; at most 64)')
    .requiredOption('--owner <human>', 'the human accountable for the agent (a registered human)')
    .requiredOption('--domain <domain...>', 'a business domain it works in (repeatable)')
    .addOption(
      new Option('--risk-tier <tier>', 'its risk tier, for policies')
        .choices(['low', 'medium', 'high'])
        .default('medium'),
    )
    .option('--tool-group <group...>', 'a tool group it may use, for policies (repeatable)')
    .option(
      '--default-budget-usd <usd>',
      'its default run budget in USD, e.g. 2.50 (up to 6 decimals)',
      parseUsdToMicros,
    )
    .option(
      '--public-key <jwk_file>',
      'an Ed25519 public JWK file: the agent signs assertions with its private key instead of using a secret',
    )
    .addHelpText(
      'after',
      `
Examples:
  warden agents register support-triage-1 --owner alice --domain support
  warden agents register refunds-bot --owner bob --domain billing --domain support \\
      --risk-tier high --tool-group payments.refund --default-budget-usd 2.50 --env prod
  warden agents register signer-1 --owner alice --domain support --public-key ./signer-1.pub.jwk`,
    )
    .action(async (agentId: string, options: RegisterOptions) => {
      checkId('agent', agentId);
      for (const domain of options.domain) checkId('domain', domain);
      checkId('owner', options.owner);
      const publicJwk =
        options.publicKey === undefined ? undefined : await readPublicJwk(options.publicKey);
      const result = await callIdentityAdmin(options, 'agent-register', {
        agent_id: agentId,
        owner: options.owner,
        domains: options.domain,
        environment: options.env,
        risk_tier: options.riskTier,
        ...(options.toolGroup === undefined ? {} : { tool_groups: options.toolGroup }),
        ...(options.defaultBudgetUsd === undefined
          ? {}
          : { default_budget_micro_usd: options.defaultBudgetUsd }),
        ...(publicJwk === undefined ? {} : { public_jwk: publicJwk }),
      });
      if (options.json) {
        printJson(result);
        return;
      }
      printAgents([result.agent]);
      if (result.client_secret !== undefined) {
        process.stdout.write(
          [
            '',
            `Client secret of ${agentId}: ${result.client_secret}`,
            'Store it now (e.g. in your secret manager): it is shown this once and Warden keeps only a hash.',
            '',
          ].join('\n'),
        );
      }
    });

  withAdminOptions(agents.command('list'))
    .description('list the agents of the environment')
    .addOption(new Option('--status <status>', 'only agents with this status').choices(STATUSES))
    .addHelpText(
      'after',
      '\nExamples:\n  warden agents list\n  warden agents list --status suspended --json',
    )
    .action(async (options: AdminOptions & { status?: (typeof STATUSES)[number] }) => {
      const { agents: list } = await callIdentityAdmin(
        options,
        'agent-list',
        options.status === undefined ? {} : { status: options.status },
      );
      if (options.json) printJson(list);
      else if (list.length === 0) process.stdout.write(`no agents in env ${options.env}\n`);
      else printAgents(list);
    });

  withAdminOptions(agents.command('show'))
    .description('show one agent')
    .argument('<agent_id>', 'the agent')
    .addHelpText('after', '\nExample:\n  warden agents show support-triage-1')
    .action(async (agentId: string, options: AdminOptions) => {
      const { agent } = await callIdentityAdmin(options, 'agent-show', {
        agent_id: checkId('agent', agentId),
      });
      if (options.json) printJson(agent);
      else
        printTable(
          ['field', 'value'],
          Object.entries(agent).map(([field, value]) => ({ field, value })),
        );
    });

  const lifecycle = [
    ['suspend', 'agent-suspend', 'stop an agent: its next intents are refused until it is resumed'],
    ['resume', 'agent-resume', 'let a suspended agent act again'],
    ['retire', 'agent-retire', 'retire an agent for good (its id is never reused)'],
  ] as const;
  for (const [name, op, description] of lifecycle) {
    withAdminOptions(agents.command(name))
      .description(description)
      .argument('<agent_id>', 'the agent')
      .option('--reason <text>', 'why, for the audit log')
      .addHelpText(
        'after',
        `\nExample:\n  warden agents ${name} support-triage-1 --reason "looping on ticket 4711"`,
      )
      .action(async (agentId: string, options: AdminOptions & { reason?: string }) => {
        const { agent } = await callIdentityAdmin(options, op, {
          agent_id: checkId('agent', agentId),
          ...(options.reason === undefined ? {} : { reason: options.reason }),
        });
        if (options.json) printJson(agent);
        else process.stdout.write(`agent ${agent.agent_id} is ${agent.status}\n`);
      });
  }
  return agents;
}

interface RegisterOptions extends AdminOptions {
  owner: string;
  domain: string[];
  riskTier: 'low' | 'medium' | 'high';
  toolGroup?: string[];
  defaultBudgetUsd?: number;
  publicKey?: string;
}

function printAgents(agents: readonly AgentView[]): void {
  printTable(
    AGENT_COLUMNS,
    agents.map((agent) => ({ ...agent, domains: agent.domains.join(', ') })),
  );
}

async function readPublicJwk(path: string): Promise<Ed25519PublicJwk> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CliError(
      `cannot read the public key ${path}: ${error instanceof Error ? error.message : String(error)}`,
      'Pass a file holding an Ed25519 public JWK: {"kty":"OKP","crv":"Ed25519","x":"…"}.',
    );
  }
  if (typeof value === 'object' && value !== null && 'd' in value) {
    throw new CliError(
      `${path} holds a private key`,
      'Register the public half only (drop "d"); the private key stays with the agent.',
    );
  }
  const parsed = Ed25519PublicJwk.safeParse(value);
  if (!parsed.success) {
    throw new CliError(
      `${path} is not an Ed25519 public JWK: ${describeIssues(parsed.error)}`,
      'Expected {"kty":"OKP","crv":"Ed25519","x":"<43 base64url characters>"}.',
    );
  }
  return parsed.data;
}
