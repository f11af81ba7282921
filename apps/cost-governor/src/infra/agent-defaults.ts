import { MicroUsd } from '@warden/contracts';
import type { ForeignKv } from '@warden/messaging';
import { z } from 'zod';

/** The part of the identity broker's agent record the governor reads (it owns the rest). */
const AgentBudgetDefault = z.looseObject({ default_budget_micro_usd: MicroUsd.optional() });

/**
 * An agent's registered default run budget, read from the identity broker's `agents` bucket when
 * one of its runs starts. An agent unknown here, a bucket not there yet, or a record this reader
 * cannot make sense of: no default, and the operator's and the environment's budgets still apply.
 */
export class AgentDefaults {
  constructor(private readonly agents: ForeignKv) {}

  async runBudgetOf(agentId: string): Promise<number | undefined> {
    const entry = await this.agents.get(agentId);
    if (entry === null) return undefined;
    const parsed = AgentBudgetDefault.safeParse(entry.json<unknown>());
    return parsed.success ? parsed.data.default_budget_micro_usd : undefined;
  }
}
