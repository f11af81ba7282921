import { z } from 'zod';

/** The error half of every request/reply API answer: a stable code and a message a person can act on. */
export const ApiError = z.strictObject({
  code: z.string().min(1).max(64),
  message: z.string().max(4096),
  /** Every individual problem, when there are several (declaration or policy errors). */
  details: z
    .array(z.strictObject({ path: z.string().max(1024), message: z.string().max(2048) }))
    .max(500)
    .optional(),
});
export type ApiError = z.infer<typeof ApiError>;

/** Wraps a result schema as the reply of a request/reply API: `{ ok: true, result }` or `{ ok: false, error }`. */
export function apiReply<T extends z.ZodType>(result: T) {
  return z.discriminatedUnion('ok', [
    z.strictObject({ ok: z.literal(true), result }),
    z.strictObject({ ok: z.literal(false), error: ApiError }),
  ]);
}
