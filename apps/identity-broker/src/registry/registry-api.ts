import { IDENTITY_API, type AgentResult, type AgentStatusRequest } from '@warden/contracts';
import type { ApiServer } from '@warden/messaging';
import type { z } from 'zod';
import type { AdminAuthorizer, AdminCaller } from '../ports.js';
import type { AgentRegistry } from './agent-registry.js';
import type { LifecycleAction } from './domain/agent-lifecycle.js';
import type { HumanRegistry } from './human-registry.js';

/** The identity admin ops the registry answers. */
export const REGISTRY_OPS = [
  'agent-register',
  'agent-list',
  'agent-show',
  'agent-suspend',
  'agent-resume',
  'agent-retire',
  'human-register',
  'human-list',
] as const;
export type RegistryOp = (typeof REGISTRY_OPS)[number];

type RequestOf<O extends RegistryOp> = z.output<(typeof IDENTITY_API)[O]['request']>;
type ResultOf<O extends RegistryOp> = z.input<(typeof IDENTITY_API)[O]['result']>;
type Answer<O extends RegistryOp> = (
  request: RequestOf<O>,
  caller: AdminCaller,
) => Promise<ResultOf<O>>;

/**
 * The edge of the registry's admin APIs (`warden.<env>.api.identity.<op>`): every op first
 * checks that the caller is an active admin, then calls one use case. The answer is parsed with
 * the op's result schema before it leaves: the schemas are strict, so a field that should never
 * be in a reply (a verifier) fails loudly as `internal` instead of reaching the caller.
 */
export class RegistryApi {
  constructor(
    private readonly server: ApiServer,
    private readonly authorizer: AdminAuthorizer,
    private readonly agents: AgentRegistry,
    private readonly humans: HumanRegistry,
  ) {}

  /** Starts answering every registry op. */
  start(): void {
    const answers: { [O in RegistryOp]: Answer<O> } = {
      'agent-register': async (request, caller) => this.agents.register(request, caller.human_id),
      'agent-list': async (request) => ({ agents: await this.agents.list(request) }),
      'agent-show': async (request) => ({ agent: await this.agents.show(request.agent_id) }),
      'agent-suspend': this.statusChange('suspend'),
      'agent-resume': this.statusChange('resume'),
      'agent-retire': this.statusChange('retire'),
      'human-register': async (request, caller) => this.humans.register(request, caller.human_id),
      'human-list': async () => ({ humans: await this.humans.list() }),
    };
    for (const op of REGISTRY_OPS) this.serve(op, answers[op]);
  }

  /** The answer of `agent-suspend`, `agent-resume` or `agent-retire`: one lifecycle action each. */
  private statusChange(
    action: LifecycleAction,
  ): (
    request: z.output<typeof AgentStatusRequest>,
    caller: AdminCaller,
  ) => Promise<z.input<typeof AgentResult>> {
    return async (request, caller) => ({
      agent: await this.agents.changeStatus(
        request.agent_id,
        action,
        caller.human_id,
        request.reason,
      ),
    });
  }

  /** Stops taking requests and waits for the ones being answered. */
  stop(): Promise<void> {
    return this.server.stop();
  }

  private serve<O extends RegistryOp>(op: O, answer: Answer<O>): void {
    const { request, result } = IDENTITY_API[op];
    this.server.serve(op, {
      request,
      handle: async (body, { headers }) => {
        const caller = await this.authorizer.requireAdmin(headers);
        return result.parse(await answer(body as RequestOf<O>, caller));
      },
    });
  }
}
