import { performance } from 'node:perf_hooks';
import { ulid } from 'ulid';
import type { AgentRecord } from '../ports.js';
import { AGENT_SCOPE, AGENT_TOKEN_TYPE, signToken } from '../domain/agent-token.js';
import { RevocationList } from '../domain/revocation-list.js';
import { generateSigningKey } from '../domain/signing-key.js';
import { AuthenticateIntent } from './authenticate-intent.use-case.js';

/** One path of the stage, measured. */
export interface StagePathFigures {
  readonly intents: number;
  readonly perSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

/** What {@link benchAuthentication} measured. */
export interface AuthenticationBench {
  /** A token seen for the first time: header checks, EdDSA signature, claims (jose, WebCrypto). */
  readonly cold: StagePathFigures;
  /** A token verified before: the cache, plus agent binding, status and revocation checks. */
  readonly warm: StagePathFigures;
}

/**
 * The authentication stage in-process (`npm run bench -- --scenario identity`): the same use case
 * the handler calls, with the key ring, the revocation view (1,000 entries) and the agent view in
 * memory, as they are in a running broker. NATS is left out on purpose: the transport's cost is
 * the bench's separate floor.
 */
export async function benchAuthentication(intents = 20_000): Promise<AuthenticationBench> {
  const key = generateSigningKey();
  const env = 'bench';
  const agent: AgentRecord = {
    agent_id: 'bench-bot',
    owner: 'alice',
    domains: ['support'],
    environment: env,
    risk_tier: 'medium',
    status: 'active',
    authentication: { method: 'client_secret', verifier: '$scrypt$unused' },
    registered_at: '2026-01-01T00:00:00.000000Z',
    registered_by: 'bench',
    updated_at: '2026-01-01T00:00:00.000000Z',
  };
  const revocations = new RevocationList();
  for (let i = 0; i < 1_000; i++)
    revocations.apply({ kind: 'jti', jti: ulid(), revokedAtMs: Date.now() });
  const stage = new AuthenticateIntent({
    env,
    keys: {
      lookup: (kid) => (kid === key.kid ? key.publicKey : undefined),
      refresh: () => Promise.resolve(),
    },
    revocations,
    agents: { get: () => agent, load: () => Promise.resolve(agent) },
  });
  const origin = { subjectAgent: agent.agent_id, envelopeAgent: agent.agent_id };
  const mint = async () =>
    (
      await signToken(key, {
        typ: AGENT_TOKEN_TYPE,
        subject: agent.agent_id,
        env,
        jti: ulid(),
        scope: AGENT_SCOPE,
        iat: Math.floor(Date.now() / 1000),
        ttlSeconds: 300,
      })
    ).token;

  const coldCount = Math.max(100, Math.floor(intents / 10));
  const fresh: string[] = [];
  for (let i = 0; i < coldCount; i++) fresh.push(await mint());
  const cold = await measure(coldCount, (i) => stage.authenticate(fresh[i], origin));
  const reused = await mint();
  await stage.authenticate(reused, origin);
  const warm = await measure(intents, () => stage.authenticate(reused, origin));
  return { cold, warm };
}

async function measure(
  count: number,
  run: (i: number) => Promise<{ ok: boolean }>,
): Promise<StagePathFigures> {
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const result = await run(i);
    samples.push((performance.now() - t0) * 1000);
    if (!result.ok) throw new Error('the bench token was refused');
  }
  const elapsedS = (performance.now() - started) / 1000;
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
  return { intents: count, perSecond: count / elapsedS, p50Us: at(0.5), p99Us: at(0.99) };
}
