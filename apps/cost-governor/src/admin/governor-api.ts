import { GOVERNOR_API, type GovernorApiOp } from '@warden/contracts';
import type { ApiServer } from '@warden/messaging';
import type { HumanAuthorizer, HumanCaller } from '@warden/service';
import type { z } from 'zod';
import type { GovernorDesk } from './governor-desk.js';

type RequestOf<O extends GovernorApiOp> = z.output<(typeof GOVERNOR_API)[O]['request']>;
type ResultOf<O extends GovernorApiOp> = z.input<(typeof GOVERNOR_API)[O]['result']>;
type Answer<O extends GovernorApiOp> = (
  request: RequestOf<O>,
  caller: HumanCaller,
) => Promise<ResultOf<O>>;

/**
 * The edge of the governor's APIs (`warden.<env>.api.cost.<op>`, GOVERNOR_API): every op first
 * verifies the caller's human token (admins for changes), then calls one use case of the desk.
 * The answer is parsed with the op's result schema before it leaves.
 */
export class GovernorApi {
  constructor(
    private readonly server: ApiServer,
    private readonly humans: HumanAuthorizer,
    private readonly desk: GovernorDesk,
  ) {}

  start(): void {
    const answers: { [O in GovernorApiOp]: Answer<O> } = {
      'budget-set': (request, caller) => this.desk.setBudget(request, caller),
      'budget-show': (request) => this.desk.showBudgets(request),
      pause: (request, caller) => this.desk.pause(request.target, request.reason, caller),
      resume: (request, caller) => this.desk.resume(request.target, request.reason, caller),
      'pause-list': () => this.desk.listPaused(),
    };
    for (const op of Object.keys(GOVERNOR_API) as GovernorApiOp[]) this.serve(op, answers[op]);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private serve<O extends GovernorApiOp>(op: O, answer: Answer<O>): void {
    const { request, result, access } = GOVERNOR_API[op];
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
