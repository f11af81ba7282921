import { readFile } from 'node:fs/promises';
import { IDENTITY_API, subjects } from '@warden/contracts';
import { Command } from 'commander';
import { credentialsPath, removeLogin, saveLogin } from '../credentials-file.js';
import { callApi, connectForCli } from '../nats-client.js';
import { CliError, printJson } from '../output.js';
import { checkId } from './admin-options.js';
import { envOption, natsOption, type ConnectionOptions } from './common-options.js';

interface LoginOptions extends ConnectionOptions {
  user: string;
  secretFile?: string;
  json?: boolean;
}

/** `warden login`: exchange a human's secret for a short-lived token, kept for later commands. */
export function loginCommand(): Command {
  return new Command('login')
    .description('log in as a human: the token is stored for the admin commands of this env')
    .requiredOption('--user <human_id>', 'who logs in')
    .option('--secret-file <path>', 'a file holding the secret (else WARDEN_SECRET, else stdin)')
    .addOption(envOption())
    .addOption(natsOption())
    .option('--json', 'print JSON for scripts (never the token)')
    .addHelpText(
      'after',
      `
The secret comes from --secret-file, else the WARDEN_SECRET variable, else standard input.
The token is stored in ${credentialsPath()} (mode 0600; WARDEN_CREDENTIALS_FILE overrides).

Examples:
  warden login --user admin --secret-file .warden/dev/bootstrap-admin.secret
  WARDEN_SECRET=… warden login --user alice --env prod
  pass show warden/alice | warden login --user alice`,
    )
    .action(async (options: LoginOptions) => {
      checkId('human', options.user);
      const secret = await readSecret(options.secretFile);
      const nc = await connectForCli(options.nats);
      let result;
      try {
        result = await callApi(
          nc,
          subjects.api(options.env, 'identity', 'human-token'),
          { human_id: options.user, secret },
          IDENTITY_API['human-token'].result,
          {
            service: 'identity broker',
            env: options.env,
            hint: (code) =>
              code === 'invalid_client' || code === 'unauthenticated'
                ? 'Check --user and the secret (`warden up` prints where the bootstrap admin secret is).'
                : undefined,
          },
        );
      } finally {
        await nc.close();
      }
      const path = credentialsPath();
      await saveLogin(
        options.env,
        {
          human_id: options.user,
          token: result.token,
          jti: result.jti,
          expires_at: result.expires_at,
        },
        path,
      );
      if (options.json) {
        printJson({
          human_id: options.user,
          env: options.env,
          jti: result.jti,
          expires_at: result.expires_at,
        });
      } else {
        process.stdout.write(
          `Logged in as ${options.user} to env ${options.env} until ${result.expires_at} (token in ${path}).\n`,
        );
      }
    });
}

/** `warden logout`: forget the stored token of an env. */
export function logoutCommand(): Command {
  return new Command('logout')
    .description('forget the token `warden login` stored for this env')
    .addOption(envOption())
    .addHelpText('after', '\nExample:\n  warden logout --env prod')
    .action(async (options: { env: string }) => {
      const removed = await removeLogin(options.env);
      process.stdout.write(
        removed
          ? `Logged out of env ${options.env}.\n`
          : `No login stored for env ${options.env}.\n`,
      );
    });
}

async function readSecret(file: string | undefined): Promise<string> {
  let secret: string;
  if (file !== undefined) {
    try {
      secret = await readFile(file, 'utf8');
    } catch (error) {
      throw new CliError(
        `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
        'Pass the file `warden up` wrote (it prints the path), or set WARDEN_SECRET.',
      );
    }
  } else if (process.env['WARDEN_SECRET']) {
    secret = process.env['WARDEN_SECRET'];
  } else if (process.stdin.isTTY) {
    throw new CliError(
      'no secret given',
      'Pass --secret-file <path>, set WARDEN_SECRET, or pipe the secret on standard input.',
    );
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    secret = Buffer.concat(chunks).toString('utf8');
  }
  secret = secret.trim();
  if (secret === '') {
    throw new CliError('the secret is empty', 'Check the file or the variable you passed.');
  }
  return secret;
}
