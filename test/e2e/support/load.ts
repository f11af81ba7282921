import { Warden, WardenCallError } from '@warden/sdk';

/** One governed call's outcome as the agent saw it. */
export interface CallOutcome {
  readonly agentId: string;
  readonly intentId: string;
  readonly status: string;
  readonly reason?: string | undefined;
  readonly ms: number;
}

/** Options of {@link runAgents}. */
export interface LoadOptions {
  natsUrl: string;
  env: string;
  agents: number;
  callsPerAgent: number;
  /** Agent ids are `<prefix>-<n>`, so a test can find its own calls in the log. */
  agentPrefix: string;
  tool?: string;
  /** The client secret of each agent (registered on first use). */
  clientSecret: (agentId: string) => Promise<string>;
  /** Called after every finished call with the number finished so far. */
  onProgress?: (done: number) => void;
}

/**
 * `agents` SDK clients, each its own connection and run, calling `tool` one call after another
 * (the agents run concurrently). Returns every outcome; a call that throws something other than
 * a Warden answer fails the load.
 */
export async function runAgents(options: LoadOptions): Promise<CallOutcome[]> {
  const outcomes: CallOutcome[] = [];
  const tool = options.tool ?? 'echo';
  await Promise.all(
    Array.from({ length: options.agents }, async (_, a) => {
      const agentId = `${options.agentPrefix}-${a}`;
      const warden = await Warden.connect({
        servers: options.natsUrl,
        env: options.env,
        agentId,
        credential: { clientSecret: await options.clientSecret(agentId) },
        callTimeoutMs: 60_000,
      });
      try {
        const run = await warden.startRun({ limits: { maxSteps: options.callsPerAgent } });
        for (let i = 0; i < options.callsPerAgent; i++) {
          const started = performance.now();
          try {
            const result = await run.call(tool, { n: a, i });
            outcomes.push({
              agentId,
              intentId: result.intentId,
              status: result.status,
              ms: performance.now() - started,
            });
          } catch (error) {
            if (!(error instanceof WardenCallError)) throw error;
            outcomes.push({
              agentId,
              intentId: error.intentId,
              status: error.status,
              reason: error.reason,
              ms: performance.now() - started,
            });
          }
          options.onProgress?.(outcomes.length);
        }
        await run.end({ status: 'succeeded' });
      } finally {
        await warden.close();
      }
    }),
  );
  return outcomes;
}
