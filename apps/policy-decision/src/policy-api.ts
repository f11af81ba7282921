import {
  POLICY_API,
  RELEASE_ASSIGN_OP,
  ReleaseAssignRequest,
  ReleaseAssignResult,
} from '@warden/contracts';
import type { ApiServer } from '@warden/messaging';
import { serveHumanApi, type HumanAuthorizer } from '@warden/service';
import type { ApprovalDesk } from './approvals/approval-desk.js';
import type { PolicyRegistry } from './policies/policy-registry.js';
import type { ReleaseCatalog } from './releases/release-catalog.js';
import type { ReleaseDesk } from './releases/release-desk.js';
import type { ToolRegistry } from './tools/tool-registry.js';

/**
 * The edge of the policy service's APIs (`warden.<env>.api.policy.<op>`, POLICY_API): every op
 * first verifies the caller's human token (admins for changes; group membership for approvals is
 * the desk's to check, since only it knows the approval's group), then calls one use case.
 * `release-assign` is the exception, asked by agents: see its contract.
 */
export class PolicyApi {
  constructor(
    private readonly server: ApiServer,
    private readonly humans: HumanAuthorizer,
    private readonly tools: ToolRegistry,
    private readonly policies: PolicyRegistry,
    private readonly approvals: ApprovalDesk,
    private readonly releases: { desk: ReleaseDesk; catalog: ReleaseCatalog },
  ) {}

  start(): void {
    serveHumanApi(this.server, this.humans, POLICY_API, {
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
      'policy-promote': (request, caller) => this.policies.promote(request, caller),
      'policy-shadow-stop': (request, caller) => this.policies.stopShadow(request, caller),
      'approval-list': (request, caller) => this.approvals.list(request, caller),
      'approval-show': (request, caller) => this.approvals.show(request, caller),
      'approval-approve': (request, caller) => this.approvals.approve(request, caller),
      'approval-deny': (request, caller) => this.approvals.deny(request, caller),
      'canary-start': (request, caller) => this.releases.desk.start(request, caller),
      'canary-list': () => this.releases.desk.list(),
      'canary-promote': (request, caller) => this.releases.desk.promote(request, caller),
      'canary-abort': (request, caller) => this.releases.desk.abort(request, caller),
    });
    // Agents ask it at every run start: no human token, and an answer from memory.
    this.server.serve(RELEASE_ASSIGN_OP, {
      request: ReleaseAssignRequest,
      handle: async ({ workflow, run_id }) =>
        ReleaseAssignResult.parse(await this.releases.catalog.assign(workflow, run_id)),
    });
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
