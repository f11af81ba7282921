import { GOVERNOR_API } from '@warden/contracts';
import type { ApiServer } from '@warden/messaging';
import { serveHumanApi, type HumanAuthorizer } from '@warden/service';
import type { GovernorDesk } from './governor-desk.js';

/**
 * The edge of the governor's APIs (`warden.<env>.api.cost.<op>`, GOVERNOR_API): every op first
 * verifies the caller's human token (admins for changes), then calls one use case of the desk.
 */
export class GovernorApi {
  constructor(
    private readonly server: ApiServer,
    private readonly humans: HumanAuthorizer,
    private readonly desk: GovernorDesk,
  ) {}

  start(): void {
    serveHumanApi(this.server, this.humans, GOVERNOR_API, {
      'budget-set': (request, caller) => this.desk.setBudget(request, caller),
      'budget-show': (request) => this.desk.showBudgets(request),
      pause: (request, caller) => this.desk.pause(request.target, request.reason, caller),
      resume: (request, caller) => this.desk.resume(request.target, request.reason, caller),
      'pause-list': () => this.desk.listPaused(),
    });
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
