import { resolve } from 'node:path';
import { generateNatsSetup, isNatsAuthError, SETUP_FILES } from '@warden/nats-auth';
import { Command } from 'commander';
import { CliError, printJson } from '../output.js';
import { envOption } from './common-options.js';

interface SetupOptions {
  dir: string;
  env: string;
  force?: boolean;
  json?: boolean;
}

/** `warden nats …`: the scoped NATS access of a deployment (deploy/nats, DESIGN §6). */
export function natsCommand(): Command {
  const nats = new Command('nats').description(
    'scoped NATS access: operator-mode credentials for every service and agent',
  );

  nats
    .command('setup')
    .description(
      'generate an operator, the Warden account, one credential per service and the identity broker signing key',
    )
    .requiredOption('--dir <dir>', 'the directory to write the setup into (created if missing)')
    .addOption(envOption())
    .option('--force', 'replace an existing setup in --dir (every credential changes)')
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Writes auth.conf (included by deploy/nats/nats-server.conf), creds/<principal>.creds for',
        'each service plus bootstrap and cli, and identity-broker.account-signing.seed; secrets',
        'are written with mode 0600. Nothing in the directory belongs in git.',
        '',
        'Example:',
        '  npm run warden -- nats setup --dir deploy/nats/generated --env prod',
        '  nats-server -c deploy/nats/nats-server.conf',
      ].join('\n'),
    )
    .action(async (options: SetupOptions) => {
      const dir = resolve(options.dir);
      try {
        const setup = await generateNatsSetup({
          dir,
          env: options.env,
          overwrite: options.force ?? false,
        });
        if (options.json) {
          printJson(setup);
          return;
        }
        const lines = [
          `NATS setup for env ${setup.env} written to ${dir}`,
          `  operator  ${setup.operatorPublicKey}`,
          `  account   ${setup.accountPublicKey} (JetStream on)`,
          `  broker signing key ${setup.brokerSigningPublicKey}`,
          '',
          'Next:',
          `  1. Point deploy/nats/nats-server.conf at ${resolve(dir, SETUP_FILES.authConf)} (it includes ./generated/auth.conf) and start nats-server.`,
          '  2. Give each service its creds file: NATS_CREDS=<dir>/creds/<service>.creds.',
          `  3. Give the identity broker IDENTITY_NATS_ACCOUNT_SIGNING_SEED from ${SETUP_FILES.brokerSigningSeed}`,
          `     and IDENTITY_NATS_ACCOUNT from ${SETUP_FILES.accountPublicKey}.`,
          `  4. Hand creds/bootstrap.creds to agent hosts; move ${SETUP_FILES.operatorSeed} and ${SETUP_FILES.accountSeed} offline.`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      } catch (error) {
        if (isNatsAuthError(error, 'setup_exists')) {
          throw new CliError(error.message, 'pass --force to replace it, or choose another --dir');
        }
        if (isNatsAuthError(error)) throw new CliError(error.message);
        throw error;
      }
    });

  return nats;
}
