import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRIAGE_AGENT } from '@warden/support-triage';
import { CliError } from '../output.js';
import { agentSecretFile } from './demo-identity.js';
import { helpdeskDir, helpdeskState } from './helpdesk-process.js';

/** What a running `warden up` left in its state directory for the triage agent to play on. */
export interface RunningDeployment {
  /** The reference agent's client secret. */
  readonly agentSecret: string;
  readonly helpdesk: {
    readonly url: string;
    readonly adminToken: string;
    readonly apiToken: string;
  };
}

/**
 * The reference deployment of `env` whose state is in `stateDir` (`warden demo` and `warden eval
 * --running` play on it).
 *
 * @throws CliError saying what to start when there is none.
 */
export function runningDeployment(stateDir: string, env: string): RunningDeployment {
  const secretFile = agentSecretFile(stateDir, env, TRIAGE_AGENT.agent_id);
  const urlFile = join(helpdeskDir(stateDir, env), 'url');
  if (!existsSync(secretFile) || !existsSync(urlFile)) {
    throw new CliError(
      `no reference deployment of env ${env} under ${stateDir}`,
      `Start one with \`npm start\` (or \`warden up --env ${env}\`) from this directory, or pass its --state.`,
    );
  }
  const helpdesk = helpdeskState(stateDir, env);
  return {
    agentSecret: readFileSync(secretFile, 'utf8').trim(),
    helpdesk: {
      url: readFileSync(urlFile, 'utf8').trim(),
      adminToken: helpdesk.adminToken,
      apiToken: helpdesk.apiToken,
    },
  };
}
