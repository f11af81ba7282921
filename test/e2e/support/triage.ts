import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Warden, type Run } from '@warden/sdk';
import { registerAgents } from '@warden/testing';
import { ROOT } from './processes.js';

/** The files of one folder of the reference workflow (`tools`, `policies`), in name order. */
export function exampleFiles(folder: string): string[] {
  const base = join(ROOT, 'examples/support-triage', folder);
  return readdirSync(base)
    .sort()
    .map((name) => join(base, name));
}

/**
 * The reference workflow's agent: `triage-1`, owned by `alice` (who must be a registered human),
 * in the support domain with the zendesk tools, connected with the SDK, in a run of
 * `support-triage`.
 */
export async function connectTriageAgent(
  nc: NatsConnection,
  natsUrl: string,
  env: string,
): Promise<{ agent: Warden; run: Run }> {
  const secrets = await registerAgents(nc, env, ['triage-1'], {
    owner: 'alice',
    domains: ['support'],
    tool_groups: ['zendesk'],
  });
  const agent = await Warden.connect({
    servers: natsUrl,
    env,
    agentId: 'triage-1',
    credential: { clientSecret: secrets.get('triage-1') ?? '' },
  });
  return { agent, run: await agent.startRun({ workflow: 'support-triage' }) };
}
