import { isSubjectToken, SUBJECT_TOKEN_RULE, Ulid } from '@warden/contracts';
import { InvalidArgumentError, Option } from 'commander';

/** Options every command that talks to a running Warden takes. */
export interface ConnectionOptions {
  env: string;
  nats: string;
}

/** `--env`: the deployment's environment; defaults to WARDEN_ENV, then `dev`. */
export function envOption(): Option {
  return new Option('--env <env>', 'the Warden environment')
    .env('WARDEN_ENV')
    .default('dev')
    .argParser((value: string) => {
      if (!isSubjectToken(value)) throw new InvalidArgumentError(`env ${SUBJECT_TOKEN_RULE}`);
      return value;
    });
}

/** What to add to a suggested command for `env`: nothing for the default `dev`, else ` --env <env>`. */
export function envFlagFor(env: string): string {
  return env === 'dev' ? '' : ` --env ${env}`;
}

/** `--nats`: the NATS server URL; defaults to NATS_URL, then the local one. */
export function natsOption(): Option {
  return new Option('--nats <url>', 'the NATS server URL')
    .env('NATS_URL')
    .default('nats://127.0.0.1:4222');
}

/** An intent id given to an argument or option, for Commander: refused unless it is a ULID. */
export function parseIntentId(value: string): string {
  if (!Ulid.safeParse(value).success) {
    throw new InvalidArgumentError('must be an intent id: a ULID of 26 characters');
  }
  return value;
}
