import { POLICY_API, type PolicyApiOp } from '@warden/contracts';
import type { ApiServer } from '@warden/messaging';
import type { z } from 'zod';
import type { ApprovalDesk } from './approvals/approval-desk.js';
import type { HumanAuthorizer, HumanCaller } from '@warden/service';
import type { PolicyRegistry } from './policies/policy-registry.js';
import type { ToolRegistry } from './tools/tool-registry.js';

type RequestOf<O extends PolicyApiOp> = z.output<(typeof POLICY_API)[O]['request']>;
type ResultOf<O extends PolicyApiOp> = z.input<(typeof POLICY_API)[O]['result']>;
type Answer<O extends PolicyApiOp> = (
  request: RequestOf<O>,
  caller: HumanCaller,
) => Promise<ResultOf<O>>;

/**
 * The edge of the policy service's APIs (`warden.<env>.api.policy.<op>`, POLICY_API): every op
 * first verifies the caller's human token (admins for changes; group membership for approvals is
 * the desk's to check, since only it knows the approval's group), then calls one use case. The
 * answer is parsed with the op's result schema before it leaves.
 */
export class PolicyApi {
  constructor(
    private readonly server: ApiServer,
    private readonly humans: HumanAuthorizer,
    private readonly tools: ToolRegistry,
    private readonly policies: PolicyRegistry,
    private readonly approvals: ApprovalDesk,
  ) {}

  start(): void {
    const answers: { [O in PolicyApiOp]: Answer<O> } = {
      'tool-register': (request, caller) => this.tools.register(request, caller),
      'tool-list': async () => ({ tools: await this.tools.list() }),
      'tool-show': (request) => this.tools.show(request),
      'policy-publish': (request, caller) => this.policies.publish(request, caller),
      'policy-list': async () => {
        const { versions, head } = await this.policies.list();
        return {
          versions,
          active: head.active,
          ...(head.shadow === undefined ? {} : { shadow: head.shadow }),
        };
      },
      'policy-show': async (request) => ({ version: await this.policies.show(request.version) }),
      'policy-rollback': async (request, caller) => ({
        version: await this.policies.rollback(request.version, request.message, caller),
      }),
      'approval-list': (request, caller) => this.approvals.list(request, caller),
      'approval-show': (request, caller) => this.approvals.show(request, caller),
      'approval-approve': (request, caller) => this.approvals.approve(request, caller),
      'approval-deny': (request, caller) => this.approvals.deny(request, caller),
    };
    for (const op of Object.keys(POLICY_API) as PolicyApiOp[]) this.serve(op, answers[op]);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private serve<O extends PolicyApiOp>(op: O, answer: Answer<O>): void {
    const { request, result, access } = POLICY_API[op];
    this.server.serve(op, {
      request,
      handle: async (body, { headers }) => {
        const caller =
          access === 'admin'
            ? await this.humans.requireAdmin(headers)
            : await this.humans.requireHuman(headers);
        return result.parse(await answer(body as RequestOf<O>, caller));
      },
    });
  }
}
