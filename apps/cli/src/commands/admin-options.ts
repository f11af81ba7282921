import {
  CREDENTIAL_HEADER,
  EXECUTOR_API,
  GOVERNOR_API,
  IDENTITY_API,
  isSubjectToken,
  POLICY_API,
  subjects,
  SUBJECT_TOKEN_RULE,
  type PolicyApiOp,
  type GovernorApiOp,
  type ExecutorApiOp,
} from '@warden/contracts';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { z } from 'zod';
import { credentialsPath, loadLogin } from '../credentials-file.js';
import { callApi, connectForCli } from '../nats-client.js';
import { CliError } from '../output.js';
import { envFlagFor, envOption, natsOption, type ConnectionOptions } from './common-options.js';

/** Options of every command that calls an identity admin API. */
export interface AdminOptions extends ConnectionOptions {
  token?: string;
  json?: boolean;
}

/** `--token`: the human token for admin APIs; defaults to WARDEN_TOKEN, then `warden login`'s. */
export function tokenOption(): Option {
  return new Option(
    '--token <token>',
    'a human token (default: WARDEN_TOKEN, then the one `warden login` stored)',
  ).env('WARDEN_TOKEN');
}

/** Adds the options every admin command takes: --env, --nats, --token, --json. */
export function withAdminOptions(command: Command): Command {
  return command
    .addOption(envOption())
    .addOption(natsOption())
    .addOption(tokenOption())
    .option('--json', 'print JSON for scripts');
}

/** The advice when no usable token is at hand. */
export function loginHint(env: string): string {
  const envFlag = envFlagFor(env);
  return `Run \`warden login --user admin --secret-file <path>${envFlag}\` (\`warden up\` prints the path), or pass --token / set WARDEN_TOKEN.`;
}

/** The human token to send: --token / WARDEN_TOKEN, else the credentials file's for this env. */
export async function resolveToken(options: AdminOptions): Promise<string> {
  if (options.token) return options.token;
  const login = await loadLogin(options.env);
  if (login === undefined) {
    throw new CliError(`not logged in to env ${options.env}`, loginHint(options.env));
  }
  if (Date.parse(login.expires_at) <= Date.now()) {
    throw new CliError(
      `the login of ${login.human_id} to env ${options.env} expired at ${login.expires_at} (${credentialsPath()})`,
      loginHint(options.env),
    );
  }
  return login.token;
}

/** Refuses an id that cannot be a subject token before anything is sent, with the rule it broke. */
export function checkId(kind: string, id: string): string {
  if (!isSubjectToken(id)) {
    throw new CliError(
      `${kind} id ${JSON.stringify(id)} ${SUBJECT_TOKEN_RULE}`,
      'Ids become NATS subject tokens: e.g. support-triage-1.',
    );
  }
  return id;
}

type IdentityOp = keyof typeof IDENTITY_API;

/**
 * Calls one identity admin op with the caller's human token in `Warden-Credential`, and returns
 * its result (validated against the contract). Refusals become {@link ApiRefusedError}s with a hint.
 */
export async function callIdentityAdmin<O extends IdentityOp>(
  options: AdminOptions,
  op: O,
  body: z.input<(typeof IDENTITY_API)[O]['request']>,
): Promise<z.output<(typeof IDENTITY_API)[O]['result']>> {
  return (await callAdmin(options, {
    api: 'identity',
    op,
    service: 'identity broker',
    body,
    result: IDENTITY_API[op].result,
    hint: (code) => identityHint(code, options.env),
  })) as z.output<(typeof IDENTITY_API)[O]['result']>;
}

/**
 * Calls one policy decision service op (POLICY_API) the same way: the human token in
 * `Warden-Credential`, the result validated, refusals as {@link ApiRefusedError}s whose hint says
 * what to do next (which role is missing, which list to look at).
 */
export async function callPolicyAdmin<O extends PolicyApiOp>(
  options: AdminOptions,
  op: O,
  body: z.input<(typeof POLICY_API)[O]['request']>,
): Promise<z.output<(typeof POLICY_API)[O]['result']>> {
  return (await callAdmin(options, {
    api: 'policy',
    op,
    service: 'policy decision service',
    body,
    result: POLICY_API[op].result,
    hint: (code) => policyHint(op, code, options.env),
  })) as z.output<(typeof POLICY_API)[O]['result']>;
}

/**
 * Calls one cost governor op (GOVERNOR_API, `warden.<env>.api.cost.<op>`) the same way, for
 * `warden budgets …`, `warden pause`, `warden resume` and `warden paused`.
 */
export async function callGovernorAdmin<O extends GovernorApiOp>(
  options: AdminOptions,
  op: O,
  body: z.input<(typeof GOVERNOR_API)[O]['request']>,
): Promise<z.output<(typeof GOVERNOR_API)[O]['result']>> {
  return (await callAdmin(options, {
    api: 'cost',
    op,
    service: 'cost governor',
    body,
    result: GOVERNOR_API[op].result,
    hint: (code) => governorHint(op, code, options.env),
  })) as z.output<(typeof GOVERNOR_API)[O]['result']>;
}

/**
 * Calls one tool executor op (EXECUTOR_API, `warden.<env>.api.tools.<op>`) the same way, for
 * `warden secrets …`. The request of `secret-set`/`secret-rotate` carries a value: it goes only
 * into the request body, never into an error, a hint or the output.
 */
export async function callExecutorAdmin<O extends ExecutorApiOp>(
  options: AdminOptions,
  op: O,
  body: z.input<(typeof EXECUTOR_API)[O]['request']>,
): Promise<z.output<(typeof EXECUTOR_API)[O]['result']>> {
  return (await callAdmin(options, {
    api: 'tools',
    op,
    service: 'tool executor',
    body,
    result: EXECUTOR_API[op].result,
    hint: (code) => executorHint(op, code, options.env),
  })) as z.output<(typeof EXECUTOR_API)[O]['result']>;
}

/**
 * An agent or workflow id given to an option (`--agent`, `--workflow`), for Commander: refused
 * before anything is sent when it cannot be a subject token.
 */
export function parseScopeId(value: string): string {
  if (!isSubjectToken(value)) {
    throw new InvalidArgumentError(`${SUBJECT_TOKEN_RULE}, e.g. support-triage-1`);
  }
  return value;
}

interface AdminCall<R extends z.ZodType> {
  api: 'identity' | 'policy' | 'cost' | 'tools';
  op: string;
  /** For messages: "no <service> is running". */
  service: string;
  body: unknown;
  result: R;
  hint: (code: string) => string | undefined;
}

/** One admin request/reply: the caller's human token in `Warden-Credential`. */
async function callAdmin<R extends z.ZodType>(
  options: AdminOptions,
  call: AdminCall<R>,
): Promise<z.infer<R>> {
  const token = await resolveToken(options);
  const nc = await connectForCli(options.nats);
  try {
    return await callApi(nc, subjects.api(options.env, call.api, call.op), call.body, call.result, {
      service: call.service,
      env: options.env,
      headers: { [CREDENTIAL_HEADER]: token },
      hint: call.hint,
    });
  } finally {
    await nc.close();
  }
}

/** Hints every admin API shares; undefined when the code is the op's own. */
function commonHint(code: string, env: string): string | undefined {
  switch (code) {
    case 'unauthenticated':
      return loginHint(env);
    case 'invalid_request':
      return 'Run the command with --help for the accepted form.';
    case 'unavailable':
    case 'busy':
      return "Retry in a moment; if it persists, check the services' logs.";
    default:
      return undefined;
  }
}

function identityHint(code: string, env: string): string | undefined {
  if (code === 'forbidden') {
    return 'Admin APIs need a human with the admin role: log in as one (`warden login --user <admin>`).';
  }
  return commonHint(code, env);
}

/** What to do next after a policy service refusal, by op and code. */
export function policyHint(op: PolicyApiOp, code: string, env: string): string | undefined {
  const envFlag = envFlagFor(env);
  switch (code) {
    case 'forbidden':
      switch (POLICY_API[op].access) {
        case 'admin':
          return 'You need the admin role to change tools and policies: log in as an admin (`warden login --user <admin>`).';
        case 'group':
          return "You need the approval's group role (`warden approvals show <id>` names it); under @separation_of_duties the agent's owner may not answer either.";
        case 'human':
          return 'You need an active human login: `warden login --user <you>`.';
      }
      break;
    case 'not_found':
      if (op.startsWith('tool-'))
        return `See \`warden tools list${envFlag}\` for the registered tools.`;
      if (op.startsWith('policy-'))
        return `See \`warden policies list${envFlag}\` for the published versions.`;
      return `See \`warden approvals list${envFlag}\` for the approvals.`;
    case 'invalid_declaration':
      return 'Fix each error above in the declaration, then register it again.';
    case 'invalid_policy_set':
      return 'Fix each error above (`warden policies validate <dir>` checks locally), then publish again; the active version did not change.';
    case 'version_exists':
      return 'That version is registered with different content: raise `version` in the declaration.';
    case 'version_not_newer':
      return `Raise \`version\` above the registered one (\`warden tools show <name>${envFlag}\` lists the versions).`;
    case 'too_large':
      return 'Split it into smaller files, or trim it.';
    case 'args_mismatch':
      return `The args changed since you looked: \`warden approvals show <id>${envFlag}\`, check them, and pass the new --args-hash.`;
    case 'already_answered':
      return `Someone answered it first: \`warden approvals show <id>${envFlag}\` shows who and how.`;
    case 'approval_expired':
      return 'It expired and can no longer be answered; the agent has to propose the action again.';
    default:
      break;
  }
  return commonHint(code, env);
}

/** What to do next after a cost governor refusal, by op and code. */
export function governorHint(op: GovernorApiOp, code: string, env: string): string | undefined {
  const envFlag = envFlagFor(env);
  switch (code) {
    case 'forbidden':
      return GOVERNOR_API[op].access === 'admin'
        ? 'You need the admin role to change budgets or pause: log in as an admin (`warden login --user <admin>`).'
        : 'You need an active human login: `warden login --user <you>`.';
    case 'not_found':
      return `Check the id: \`warden agents list${envFlag}\` lists the agents, \`warden budgets show${envFlag}\` the configured scopes.`;
    default:
      return commonHint(code, env);
  }
}

/** What to do next after a tool executor refusal (`warden secrets`), by op and code. */
export function executorHint(op: ExecutorApiOp, code: string, env: string): string | undefined {
  const envFlag = envFlagFor(env);
  switch (code) {
    case 'forbidden':
      return 'You need the admin role for this: log in as an admin (`warden login --user <admin>`).';
    case 'not_found':
      return op === 'secret-rotate'
        ? `Only a stored secret can be rotated: \`warden secrets list${envFlag}\` lists them; \`warden secrets set\` creates one.`
        : `\`warden secrets list${envFlag}\` lists the stored secrets.`;
    case 'conflict':
      return `Someone changed it at the same time: \`warden secrets list${envFlag}\`, then retry.`;
    case 'master_key_missing':
      return 'The tool executor cannot seal secrets: set EXECUTOR_MASTER_KEY (openssl rand -base64 32), the same on every executor replica of this env, and restart them.';
    case 'secret_unreadable':
      return 'A stored value does not open with this EXECUTOR_MASTER_KEY: every replica needs the key it was set with; `warden secrets set` replaces the value.';
    default:
      return commonHint(code, env);
  }
}
