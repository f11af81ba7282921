import { connectNats, MessagingError } from '@warden/messaging';
import type { NatsConnection } from '@nats-io/transport-node';
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
 * Sends one request/reply API call and validates the answer against its contract. "No responders"
 * means no service answers that subject in this env: say which one to start.
 */
export async function request<T extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  body: unknown,
  reply: T,
  options: { timeoutMs?: number; service: string; env: string },
): Promise<z.infer<T>> {
  let message;
  try {
    message = await nc.request(subject, JSON.stringify(body), {
      timeout: options.timeoutMs ?? 30_000,
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
  const parsed = reply.safeParse(message.json());
  if (!parsed.success) {
    throw new CliError(
      `the ${options.service} sent an answer this CLI does not understand`,
      'Are the CLI and the services the same version?',
    );
  }
  return parsed.data;
}
