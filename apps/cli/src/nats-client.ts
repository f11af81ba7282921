import { connectNats, MessagingError } from '@warden/messaging';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { apiReply, type ApiError } from '@warden/contracts';
import type { z } from 'zod';
import { CliError } from './output.js';

/** Connects to NATS for one CLI command, turning "nothing answers" into advice. */
export async function connectForCli(servers: string): Promise<NatsConnection> {
  try {
    return await connectNats({ servers, name: 'warden-cli' });
  } catch (error) {
    if (error instanceof MessagingError) {
      throw new CliError(
        error.message,
        'Start Warden with `npm start` (or `warden up`), or pass --nats <url>.',
      );
    }
    throw error;
  }
}

/**
 * Calls one request/reply API and returns its result, validated against the contract. An error
 * reply becomes a CliError (with the caller's hint for its code); "no responders" means no
 * service answers that subject in this env, so it says which one to start.
 */
export async function callApi<R extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  body: unknown,
  result: R,
  options: {
    timeoutMs?: number;
    service: string;
    env: string;
    hint?: (code: string) => string | undefined;
    /** Request headers, e.g. the human token in `Warden-Credential` for admin APIs. */
    headers?: Readonly<Record<string, string>>;
  },
): Promise<z.infer<R>> {
  let message;
  try {
    const headers = options.headers === undefined ? undefined : natsHeaders();
    for (const [name, value] of Object.entries(options.headers ?? {})) headers?.set(name, value);
    message = await nc.request(subject, JSON.stringify(body), {
      timeout: options.timeoutMs ?? 30_000,
      ...(headers === undefined ? {} : { headers }),
    });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (/no responders|503/i.test(text)) {
      throw new CliError(
        `no ${options.service} is running for env "${options.env}"`,
        `Start Warden with \`npm start\` (or \`warden up --env ${options.env}\`), then try again.`,
      );
    }
    if (/timeout/i.test(text)) {
      throw new CliError(
        `the ${options.service} did not answer within ${options.timeoutMs ?? 30_000} ms`,
        'Check its logs, or retry.',
      );
    }
    throw error;
  }
  const parsed = apiReply(result).safeParse(message.json());
  if (!parsed.success) {
    throw new CliError(
      `the ${options.service} sent an answer this CLI does not understand`,
      'Are the CLI and the services the same version?',
    );
  }
  // zod's inferred union does not narrow on `ok` while R is generic: name its two halves.
  const answer = parsed.data as { ok: true; result: z.infer<R> } | { ok: false; error: ApiError };
  if (!answer.ok) {
    const { code, message: text, details = [] } = answer.error;
    throw new ApiRefusedError(code, text, details, options.hint?.(code));
  }
  return answer.result;
}

type ApiErrorDetail = NonNullable<ApiError['details']>[number];

/** A refusal from a service's API: its stable code, and every individual problem it listed. */
export class ApiRefusedError extends CliError {
  constructor(
    readonly code: string,
    readonly apiMessage: string,
    readonly details: readonly ApiErrorDetail[],
    hint?: string,
  ) {
    super(formatRefusal(apiMessage, details), hint);
  }
}

/**
 * The refusal as one message: the service's sentence, then each detail on its own line
 * (`refunds.cedar:12  unknown attribute …`), so a refused policy set or declaration shows every
 * error, not just how many there were.
 */
export function formatRefusal(message: string, details: readonly ApiErrorDetail[]): string {
  if (details.length === 0) return message;
  const lines = details.map(({ path, message: text }) =>
    path ? `  ${path}  ${text}` : `  ${text}`,
  );
  return [message, ...lines].join('\n');
}
