import { EXECUTOR_API } from '@warden/contracts';
import { ApiFailure, type ApiServer } from '@warden/messaging';
import { serveHumanApi, type HumanAuthorizer, type HumanCaller } from '@warden/service';
import type { ExecutionReviews } from './executions/execution-reviews.js';
import type { RunOutputs } from './sealing/run-outputs.js';
import type { SecretStore } from './secrets/secret-store.js';
import { isSecretsError, type SecretsErrorCode } from './secrets/secrets.errors.js';

/**
 * The edge of the executor's APIs (`warden.<env>.api.tools.*`, EXECUTOR_API): its credentials
 * (`warden secrets`), the reviews of in-doubt executions (`warden executions resolve`) and runs'
 * sealed outputs (`warden runs outputs|erase-outputs`). Every
 * op first verifies the caller's human token (admins only), then calls one use case. Store
 * refusals become API refusals here, in one switch; nothing answered carries a secret's value.
 */
export class ExecutorApi {
  constructor(
    private readonly server: ApiServer,
    private readonly humans: HumanAuthorizer,
    private readonly store: SecretStore,
    private readonly reviews: ExecutionReviews,
    private readonly outputs: RunOutputs,
  ) {}

  start(): void {
    serveHumanApi(this.server, this.humans, EXECUTOR_API, {
      'secret-set': (request, caller) =>
        refusing(() => this.store.set(request.ref, request.value, actorOf(caller))),
      'secret-rotate': (request, caller) =>
        refusing(() => this.store.rotate(request.ref, request.value, actorOf(caller))),
      'secret-list': () => refusing(async () => ({ secrets: await this.store.list() })),
      'secret-delete': (request, caller) =>
        refusing(async () => ({
          ref: request.ref,
          ...(await this.store.delete(request.ref, actorOf(caller))),
        })),
      'execution-review': (request, caller) =>
        this.reviews.review(request.intent_id, request.verdict, request.note, actorOf(caller)),
      'outputs-open': (request, caller) =>
        this.outputs.open(request.run_id, request.outputs, request.purpose, actorOf(caller)),
      'outputs-erase': (request, caller) =>
        this.outputs.erase(request.run_id, request.reason, actorOf(caller)),
    });
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

function actorOf(caller: HumanCaller): string {
  return `human:${caller.human_id}`;
}

/** Runs one use case, turning the store's refusals into the API's codes. */
async function refusing<T>(useCase: () => Promise<T>): Promise<T> {
  try {
    return await useCase();
  } catch (error) {
    if (isSecretsError(error)) throw new ApiFailure(apiCodeOf(error.code), error.message);
    throw error;
  }
}

/** The API code of each store error (SecretsError messages never hold a value). */
export function apiCodeOf(code: SecretsErrorCode): string {
  switch (code) {
    case 'secret_not_found':
      return 'not_found';
    case 'secret_conflict':
      return 'conflict';
    case 'master_key_missing':
    case 'master_key_invalid':
      return 'master_key_missing';
    case 'secret_unreadable':
      return 'secret_unreadable';
  }
}
