import type { NatsConnection } from '@nats-io/transport-node';
import { apiReply, RELEASE_ASSIGN_OP, ReleaseAssignResult, subjects } from '@warden/contracts';

/** How long `startRun` waits for the policy service to say which release the run gets. */
const ASSIGN_TIMEOUT_MS = 2_000;

const Reply = apiReply(ReleaseAssignResult);

/**
 * Asks the policy service which release a new run of `workflow` gets (a canary's share, or the
 * workflow's promoted release). `undefined` when it does not answer in time or answers an error:
 * the run then keeps the caller's version. Its decisions still follow the canary, whose policy
 * side the policy service works out from the run id the same way.
 */
export async function assignRelease(
  nc: NatsConnection,
  env: string,
  workflow: string,
  runId: string,
): Promise<ReleaseAssignResult | undefined> {
  try {
    const reply = await nc.request(
      subjects.api(env, 'policy', RELEASE_ASSIGN_OP),
      JSON.stringify({ workflow, run_id: runId }),
      { timeout: ASSIGN_TIMEOUT_MS },
    );
    const parsed = Reply.safeParse(reply.json<unknown>());
    return parsed.success && parsed.data.ok ? parsed.data.result : undefined;
  } catch {
    return undefined;
  }
}
