import { z } from 'zod';

/** The error half of every request/reply API answer: a stable code and a message a person can act on. */
export const ApiError = z.strictObject({
  code: z.string().min(1).max(64),
  message: z.string().max(4096),
});
export type ApiError = z.infer<typeof ApiError>;

/** Wraps a result schema as the reply of a request/reply API: `{ ok: true, result }` or `{ ok: false, error }`. */
export function apiReply<T extends z.ZodType>(result: T) {
  return z.discriminatedUnion('ok', [
    z.strictObject({ ok: z.literal(true), result }),
    z.strictObject({ ok: z.literal(false), error: ApiError }),
  ]);
}
