import { Controller, Inject } from '@nestjs/common';
import {
  buildEvent,
  digestArgs,
  type DataOf,
  type Envelope,
  type EventType,
} from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import {
  decideIntent,
  evaluateIntent,
  policyDecidedData,
  type PolicyOutcome,
} from '@warden/policy';
import { SERVICE_CONFIG, SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { ApprovalBook } from '../approvals/approval-book.js';
import type { PolicyDecisionConfig } from '../config.js';
import { PolicyCatalog } from '../policies/policy-catalog.js';
import { ReleaseCatalog } from '../releases/release-catalog.js';
import { ToolCatalog, type CatalogTool } from '../tools/tool-catalog.js';

/** How long an intent waits for the policy versions and canaries at start before it is retried. */
const LOAD_WAIT_MS = 5_000;

/** Publishes an event caused by the intent being decided. */
type Publish = <T extends EventType>(type: T, data: DataOf<T>) => Promise<unknown>;

/**
 * `intent.authenticated` → `policy.decided`, and then: for a deny the terminal
 * `intent.resolved{denied, stage: policy}`; for args that fail the tool's schema only
 * `intent.resolved{rejected, stage: validation}` with every violation; for `approval_required`
 * an approval request (`approval.requested`, on the agent's subject). A run on the canary side of
 * a canary with a policy version is decided under that version instead of the active one
 * (`policy_version` says which). With a shadow version in force, a different effect under it is
 * logged as `policy.shadow_diverged`. Output ids derive from
 * the input event, so a redelivered intent publishes duplicates JetStream drops.
 */
@Controller()
export class DecideIntentHandler {
  private readonly env: string;

  constructor(
    @Inject(SERVICE_CONFIG) config: PolicyDecisionConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(ToolCatalog) private readonly tools: ToolCatalog,
    @Inject(PolicyCatalog) private readonly policies: PolicyCatalog,
    @Inject(ApprovalBook) private readonly approvals: ApprovalBook,
    @Inject(ReleaseCatalog) private readonly releases: ReleaseCatalog,
  ) {
    this.env = config.WARDEN_ENV;
  }

  @OnEvent('intent.authenticated')
  async decideIntent(event: Envelope<'intent.authenticated'>, ctx: EventContext): Promise<Outcome> {
    const { tool, step } = event.data;
    const log = { run_id: event.run_id, intent_id: event.intent_id, tool };
    const publish: Publish = (type, data) =>
      ctx.publish(buildEvent({ type, data, cause: event, producer: ctx.producer }) as Envelope);
    const loaded = await Promise.all([
      this.policies.whenLoaded(LOAD_WAIT_MS),
      this.releases.whenLoaded(LOAD_WAIT_MS),
    ]);
    if (loaded.includes(false)) {
      this.logger.warn(log, 'policy versions or canaries not loaded yet: intent retried later');
      return Outcome.retry(LOAD_WAIT_MS);
    }
    const now = new Date();
    const catalogTool = await this.tools.get(tool);
    const canaryPolicy = await this.releases.policyFor(event.workflow, event.run_id);
    const policy = canaryPolicy ?? this.policies.current();
    const verdict = decideIntent(event.data, catalogTool, policy, this.env, now);

    if (verdict.kind === 'rejected') {
      await publish('intent.resolved', {
        status: 'rejected',
        stage: 'validation',
        tool,
        reason: 'invalid_args',
        message: verdict.message,
        details: verdict.details.map(({ path, message }) => ({ path, message })),
      });
      this.logger.info(
        { ...log, violations: verdict.details.length },
        'intent rejected: invalid args',
      );
      return Outcome.processed;
    }
    // The shadow is a candidate for the active version: a canary's runs are not compared with it.
    if (catalogTool !== undefined && canaryPolicy === undefined)
      await this.compareWithShadow(event, verdict, catalogTool, now, publish);
    await publish('policy.decided', policyDecidedData({ tool, step }, verdict));

    if (verdict.effect === 'deny') {
      await publish('intent.resolved', {
        status: 'denied',
        stage: 'policy',
        tool,
        reason: verdict.reason ?? 'not_permitted',
        ...(verdict.message === undefined ? {} : { message: verdict.message }),
        policy_ids: [...verdict.policyIds],
      });
      this.logger.info(
        { ...log, reason: verdict.reason, policy_version: verdict.policyVersion },
        'intent denied',
      );
    } else if (verdict.effect === 'approval_required') {
      await this.requestApproval(event, verdict, publish);
    } else {
      this.logger.debug({ ...log, policy_version: verdict.policyVersion }, 'intent allowed');
    }
    return Outcome.processed;
  }

  /** Opens (or finds again, on redelivery) the approval an `approval_required` decision needs. */
  private async requestApproval(
    event: Envelope<'intent.authenticated'>,
    verdict: PolicyOutcome,
    publish: Publish,
  ): Promise<void> {
    const { tool, step, principal } = event.data;
    const approval = verdict.approval;
    if (approval === undefined) throw new Error('approval_required without a group');
    const opened = await this.approvals.open({
      cause: event,
      tool,
      ...(verdict.toolVersion === undefined ? {} : { toolVersion: verdict.toolVersion }),
      ...(verdict.costMicroUsd === undefined ? {} : { costMicroUsd: verdict.costMicroUsd }),
      args: verdict.args,
      argsHash: digestArgs(tool, verdict.args),
      step,
      group: approval.group,
      separationOfDuties: approval.separation_of_duties,
      ...(principal.owner === undefined ? {} : { owner: principal.owner }),
      policyIds: [...verdict.policyIds],
      policyVersion: verdict.policyVersion,
    });
    if (opened.outcome === 'conflict') {
      // The intent id was used before with other args: an approval never moves to new args.
      await publish('intent.resolved', {
        status: 'rejected',
        stage: 'approval',
        tool,
        reason: 'args_mismatch',
        message: opened.message,
      });
      return;
    }
    // A redelivered intent whose approval was answered since must not ask again.
    if (opened.approval.status !== 'pending') return;
    await publish('approval.requested', opened.data);
    this.logger.info(
      { run_id: event.run_id, intent_id: event.intent_id, tool, group: approval.group },
      'approval requested',
    );
  }

  /** Evaluates the shadow version too, and logs a different effect; it never changes the outcome. */
  private async compareWithShadow(
    event: Envelope<'intent.authenticated'>,
    active: PolicyOutcome,
    tool: CatalogTool,
    now: Date,
    publish: Publish,
  ): Promise<void> {
    const shadow = this.policies.shadow();
    if (shadow === undefined || active.risk === undefined || active.flags === undefined) return;
    const intent = { ...event.data, args: active.args };
    const verdict = evaluateIntent(shadow, intent, tool, active.flags, active.risk, this.env, now);
    if (verdict.kind !== 'decided' || verdict.effect === active.effect) return;
    await publish('policy.shadow_diverged', {
      tool: event.data.tool,
      step: event.data.step,
      active_version: active.policyVersion,
      active_effect: active.effect,
      active_policy_ids: [...active.policyIds],
      shadow_version: verdict.policyVersion,
      shadow_effect: verdict.effect,
      shadow_policy_ids: [...verdict.policyIds],
      shadow_errors: [...verdict.errors],
    });
  }
}
