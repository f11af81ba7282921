import { Module } from '@nestjs/common';
import { DecideIntentHandler } from './decision/decide-intent.handler.js';
import { decisionPublisherProvider } from './decision-publisher.js';
import { decisionStoreProviders } from './decision-stores.js';
import { PolicyDecisionLifecycle } from './policy-decision.lifecycle.js';

/**
 * Policy decision: is this action, by this agent, with these exact args, permitted right now?
 * (DESIGN §2 steps 3–3a, §6). Tools and policy versions are registries of this service (KV
 * `tools`, `policies`, projections of `tool.registered` / `policy.published`); approvals wait in
 * KV `approvals` for a named human.
 */
@Module({
  controllers: [DecideIntentHandler],
  providers: [decisionPublisherProvider, ...decisionStoreProviders, PolicyDecisionLifecycle],
})
export class PolicyDecisionModule {}
