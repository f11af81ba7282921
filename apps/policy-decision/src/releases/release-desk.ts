import type { NatsConnection } from '@nats-io/transport-node';
import type {
  CanaryEndRequest,
  CanaryStartRequest,
  CanaryView,
  DataOf,
  PolicyVersionSummary,
  ReleaseView,
} from '@warden/contracts';
import { ApiFailure, type EventPublisher } from '@warden/messaging';
import type { HumanCaller } from '@warden/service';
import { ulid } from 'ulid';
import type { z } from 'zod';
import { publishInTurn } from '../log-guard.js';
import type { PolicyRegistry } from '../policies/policy-registry.js';
import type { PolicyStore } from '../policies/policy-store.js';
import type { ReleaseStore } from './release-store.js';

/**
 * Canary releases (`warden canary start|list|promote|abort`): one canary per workflow at a time,
 * each change a `canary.changed` event with who and why, published in turn with every other
 * change, then projected into KV. Promoting makes the canary's version the workflow's release
 * and, for a canary with a policy version, publishes that version's content as the active one.
 */
export class ReleaseDesk {
  constructor(
    private readonly nc: NatsConnection,
    private readonly publisher: EventPublisher,
    private readonly store: ReleaseStore,
    private readonly policyStore: PolicyStore,
    private readonly policies: PolicyRegistry,
  ) {}

  async start(
    request: z.output<typeof CanaryStartRequest>,
    caller: HumanCaller,
  ): Promise<{ canary: CanaryView }> {
    const { workflow, version, percent, policy_version: policyVersion, reason } = request;
    if (policyVersion !== undefined && (await this.policyStore.get(policyVersion)) === undefined) {
      throw new ApiFailure(
        'not_found',
        `no policy version ${policyVersion}: publish the candidate first (warden policies shadow <dir>), then name its version`,
      );
    }
    let canaryId = '';
    const canary = await this.change(
      async () => {
        const running = await this.store.canary(workflow);
        if (running !== undefined) {
          throw new ApiFailure(
            'canary_running',
            `workflow ${workflow} already has canary ${running.canary_id} (${running.version} at ${running.percent}%): promote or abort it first (warden canary report --workflow ${workflow})`,
          );
        }
        const release = await this.store.release(workflow);
        if (release?.version === version) {
          throw new ApiFailure(
            'same_version',
            `${version} is already the release of ${workflow}: a canary needs another version`,
          );
        }
        canaryId = ulid();
        return {
          change: 'started',
          workflow,
          canary_id: canaryId,
          version,
          ...(release === undefined ? {} : { baseline: release.version }),
          percent,
          ...(policyVersion === undefined ? {} : { policy_version: policyVersion }),
          by: `human:${caller.human_id}`,
          ...(reason === undefined ? {} : { reason }),
        };
      },
      async () => {
        const started = await this.store.canary(workflow);
        if (started?.canary_id !== canaryId) throw new Error(`canary ${canaryId} vanished from KV`);
        return started;
      },
    );
    return { canary };
  }

  async list(): Promise<{ canaries: CanaryView[]; releases: ReleaseView[] }> {
    return this.store.list();
  }

  async promote(
    request: z.output<typeof CanaryEndRequest>,
    caller: HumanCaller,
  ): Promise<{ canary: CanaryView; release: ReleaseView; policy_version?: PolicyVersionSummary }> {
    const canary = await this.running(request.workflow, 'nothing to promote');
    // The policy first: were the promotion logged and the activation then lost, the canary's
    // runs would quietly go back to the old policy while the log said promoted.
    const activated =
      canary.policy_version === undefined
        ? undefined
        : await this.policies.rollback(
            canary.policy_version,
            `promote canary ${canary.version} of ${canary.workflow}: ${request.reason}`,
            caller,
          );
    await this.end(canary, 'promoted', request.reason, caller, activated?.version);
    const release = await this.store.release(canary.workflow);
    if (release?.canary_id !== canary.canary_id) {
      throw new Error(`the release of canary ${canary.canary_id} vanished from KV`);
    }
    return { canary, release, ...(activated === undefined ? {} : { policy_version: activated }) };
  }

  async abort(
    request: z.output<typeof CanaryEndRequest>,
    caller: HumanCaller,
  ): Promise<{ canary: CanaryView }> {
    const canary = await this.running(request.workflow, 'nothing to abort');
    await this.end(canary, 'aborted', request.reason, caller);
    return { canary };
  }

  private async running(workflow: string, consequence: string): Promise<CanaryView> {
    const canary = await this.store.canary(workflow);
    if (canary === undefined) {
      throw new ApiFailure(
        'no_canary',
        `workflow ${workflow} has no canary in force: ${consequence} (warden canary list)`,
      );
    }
    return canary;
  }

  private async end(
    canary: CanaryView,
    change: 'promoted' | 'aborted',
    reason: string,
    caller: HumanCaller,
    activatedPolicyVersion?: number,
  ): Promise<void> {
    await this.change(
      async () => {
        const current = await this.store.canary(canary.workflow);
        if (current?.canary_id !== canary.canary_id) {
          throw new ApiFailure(
            'canary_changed',
            `canary ${canary.canary_id} of ${canary.workflow} ended while this ${change === 'promoted' ? 'promotion' : 'abort'} was prepared: see warden canary list`,
          );
        }
        return {
          change,
          workflow: canary.workflow,
          canary_id: canary.canary_id,
          version: canary.version,
          ...(canary.baseline === undefined ? {} : { baseline: canary.baseline }),
          percent: canary.percent,
          ...(canary.policy_version === undefined ? {} : { policy_version: canary.policy_version }),
          ...(activatedPolicyVersion === undefined
            ? {}
            : { activated_policy_version: activatedPolicyVersion }),
          by: `human:${caller.human_id}`,
          reason,
        };
      },
      () => Promise.resolve(undefined),
    );
  }

  /** Publishes the change `prepare` makes from KV, in turn with every other canary change. */
  private change<R>(
    prepare: () => Promise<DataOf<'canary.changed'>>,
    answer: () => Promise<R>,
  ): Promise<R> {
    return publishInTurn<R>(this.nc, this.publisher, 'canary.changed', {
      attempt: async () => {
        const data = await prepare();
        return {
          publish: this.publisher.build({
            type: 'canary.changed',
            eventId: ulid(),
            workflow: data.workflow,
            data,
          }),
        };
      },
      apply: async (event) => {
        if (event.type === 'canary.changed') {
          await this.store.apply(event);
        }
      },
      answer,
    });
  }
}
