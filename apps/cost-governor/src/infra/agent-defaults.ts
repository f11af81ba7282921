import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { MicroUsd } from '@warden/contracts';
import { kvBucketName } from '@warden/messaging';
import { z } from 'zod';

/** The part of the identity broker's agent record the governor reads (it owns the rest). */
const AgentBudgetDefault = z.looseObject({ default_budget_micro_usd: MicroUsd.optional() });

/**
 * An agent's registered default run budget, read from the identity broker's `agents` bucket when
 * one of its runs starts. The bucket is the broker's: it is opened, never created (the governor
 * may only read it), once it exists. An agent unknown here, a bucket not there yet, or a record
 * this reader cannot make sense of: no default, and the operator's and the environment's budgets
 * still apply.
 */
export class AgentDefaults {
  private agents: KV | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
  ) {}

  async runBudgetOf(agentId: string): Promise<number | undefined> {
    let entry: KvEntry | null;
    try {
      this.agents ??= await new Kvm(this.nc).open(kvBucketName(this.env, 'agents'));
      entry = await this.agents.get(agentId);
    } catch {
      // Not there yet (no broker has started in this env): no default, and look again next time.
      this.agents = undefined;
      return undefined;
    }
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const parsed = AgentBudgetDefault.safeParse(entry.json<unknown>());
    return parsed.success ? parsed.data.default_budget_micro_usd : undefined;
  }
}
