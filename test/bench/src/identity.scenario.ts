import { fileURLToPath } from 'node:url';

/** One path of the authentication stage (see apps/identity-broker/src/credentials/authentication.bench.ts). */
export interface IdentityPathFigures {
  intents: number;
  perSecond: number;
  p50Us: number;
  p99Us: number;
}

/** The identity stage in-process: a new token (full verification) and a cached one. */
export interface IdentityResult {
  cold: IdentityPathFigures;
  warm: IdentityPathFigures;
}

/** The built broker next to this bench: dist/apps/identity-broker/... (the bench depends on no app's code). */
const BENCH = fileURLToPath(
  new URL('../../apps/identity-broker/credentials/authentication.bench.js', import.meta.url),
);

/**
 * Verifications per second and latency of the authentication stage, in-process (DESIGN §11:
 * verify a token's signature once, then microseconds per intent while revocation and status are
 * still checked every time).
 */
export async function measureIdentity(intents: number): Promise<IdentityResult> {
  const module = (await import(BENCH)) as {
    benchAuthentication(intents: number): Promise<IdentityResult>;
  };
  return module.benchAuthentication(intents);
}
