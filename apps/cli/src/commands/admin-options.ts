import {
  CREDENTIAL_HEADER,
  IDENTITY_API,
  isSubjectToken,
  subjects,
  SUBJECT_TOKEN_RULE,
} from '@warden/contracts';
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { credentialsPath, loadLogin } from '../credentials-file.js';
import { callApi, connectForCli } from '../nats-client.js';
import { CliError } from '../output.js';
import { envOption, natsOption, type ConnectionOptions } from './common-options.js';

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
  const envFlag = env === 'dev' ? '' : ` --env ${env}`;
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
 * its result (validated against the contract). Refusals become CliErrors with a hint.
 */
export async function callIdentityAdmin<O extends IdentityOp>(
  options: AdminOptions,
  op: O,
  body: z.input<(typeof IDENTITY_API)[O]['request']>,
): Promise<z.output<(typeof IDENTITY_API)[O]['result']>> {
  const token = await resolveToken(options);
  const nc = await connectForCli(options.nats);
  try {
    return (await callApi(
      nc,
      subjects.api(options.env, 'identity', op),
      body,
      IDENTITY_API[op].result,
      {
        service: 'identity broker',
        env: options.env,
        headers: { [CREDENTIAL_HEADER]: token },
        hint: (code) => hintFor(code, options.env),
      },
    )) as z.output<(typeof IDENTITY_API)[O]['result']>;
  } finally {
    await nc.close();
  }
}

function hintFor(code: string, env: string): string | undefined {
  switch (code) {
    case 'unauthenticated':
      return loginHint(env);
    case 'forbidden':
      return 'Admin APIs need a human with the admin role: log in as one (`warden login --user <admin>`).';
    case 'invalid_request':
      return 'Run the command with --help for the accepted form.';
    default:
      return undefined;
  }
}
