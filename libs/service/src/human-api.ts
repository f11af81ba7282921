import type { ApiServer } from '@warden/messaging';
import type { z } from 'zod';
import type { HumanAuthorizer, HumanCaller } from './human-authorizer.js';

/**
 * One op of an API humans call (POLICY_API, GOVERNOR_API): its schemas and who may call it.
 * `admin` needs the admin role; `human` and `group` need an active human (membership of a group
 * is for the use case to check: only it knows which group).
 */
export interface HumanApiOp {
  readonly request: z.ZodType;
  readonly result: z.ZodType;
  readonly access: 'admin' | 'human' | 'group';
}

/** The use case answering each op of `api`, given the verified caller. */
export type HumanApiAnswers<Api extends Record<string, HumanApiOp>> = {
  [O in keyof Api]: (
    request: z.output<Api[O]['request']>,
    caller: HumanCaller,
  ) => Promise<z.input<Api[O]['result']>>;
};

/**
 * Serves every op of `api` on `server`: each request first has its human token verified (admins
 * for `admin` ops), then its use case answers, and the answer is parsed with the op's result
 * schema before it leaves.
 */
export function serveHumanApi<Api extends Record<string, HumanApiOp>>(
  server: ApiServer,
  humans: HumanAuthorizer,
  api: Api,
  answers: HumanApiAnswers<Api>,
): void {
  for (const op of Object.keys(api) as (keyof Api & string)[]) {
    const { request, result, access } = api[op] as Api[typeof op];
    const answer = answers[op];
    server.serve(op, {
      request,
      handle: async (body, { headers }) => {
        const caller =
          access === 'admin'
            ? await humans.requireAdmin(headers)
            : await humans.requireHuman(headers);
        // `body` passed the op's request schema (ApiServer parses it before calling).
        return result.parse(await answer(body as z.output<Api[typeof op]['request']>, caller));
      },
    });
  }
}
