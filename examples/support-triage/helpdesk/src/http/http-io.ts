import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { HelpdeskError } from '../helpdesk.errors.js';

/** Largest request body read. */
const MAX_BODY_BYTES = 1024 * 1024;

/** An answer to send: status, JSON body, extra headers. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Reads a JSON request body; an empty body is an error (every write takes a JSON object). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new HelpdeskError('payload_too_large', `request body over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HelpdeskError('invalid_json', 'request body must be a JSON object', { cause: error });
  }
}

/**
 * Parses input with a schema, or throws the error the client should see: `unknown_fields` naming
 * the fields not allowed (and those that are), else `invalid_request` with every problem.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const unknown = issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => [...issue.path, key].join('.'))
      : [],
  );
  if (unknown.length > 0) {
    const allowed =
      schema instanceof z.ZodObject ? Object.keys(schema.shape).join(', ') : undefined;
    throw new HelpdeskError(
      'unknown_fields',
      `unknown field${unknown.length > 1 ? 's' : ''} in ${what}: ${unknown.join(', ')}` +
        (allowed === undefined ? '' : ` (allowed: ${allowed})`),
    );
  }
  const problems = issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  throw HelpdeskError.invalid(`invalid ${what}: ${problems.join('; ')}`);
}

export function sendJson(res: ServerResponse, reply: Reply): void {
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...reply.headers,
  });
  res.end(payload);
}
