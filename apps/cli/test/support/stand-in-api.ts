import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { CREDENTIAL_HEADER, subjects } from '@warden/contracts';

/** One request the CLI sent to a stand-in API: the op, its JSON body and its credential header. */
export interface ReceivedRequest {
  op: string;
  body: unknown;
  credential: string | undefined;
}

/** A stand-in service API on real NATS; see {@link startStandInApi}. */
export interface StandInApi {
  /** Every request so far, oldest first; a test empties it with `received.length = 0`. */
  readonly received: ReceivedRequest[];
  /** Answers `op` with `reply` (the whole envelope, `{ ok, result }` or `{ ok, error }`) from now on. */
  answer(op: string, reply: unknown): void;
  /** Unsubscribes every responder. */
  stop(): void;
}

/**
 * Starts a responder on `warden.<env>.api.<service>.<op>` for each op, standing in for the
 * service: it records what the CLI sent and answers as the test told it. The CLI's side of the
 * wire is what is under test; the service itself is tested in its own app.
 */
export async function startStandInApi(
  nc: NatsConnection,
  env: string,
  service: string,
  ops: readonly string[],
): Promise<StandInApi> {
  const received: ReceivedRequest[] = [];
  const answers = new Map<string, unknown>();
  const subscriptions: Subscription[] = [];

  const record = (op: string, message: Msg): void => {
    received.push({
      op,
      body: message.json<unknown>(),
      credential: message.headers?.get(CREDENTIAL_HEADER) || undefined,
    });
    message.respond(JSON.stringify(answers.get(op)));
  };

  for (const op of ops) {
    const subscription = nc.subscribe(subjects.api(env, service, op));
    subscriptions.push(subscription);
    void (async () => {
      for await (const message of subscription) record(op, message);
    })();
  }
  // The CLI connects on its own connection: the subscriptions must reach the server first.
  await nc.flush();

  return {
    received,
    answer(op, reply) {
      if (!ops.includes(op)) throw new Error(`the stand-in ${service} API does not serve ${op}`);
      answers.set(op, reply);
    },
    stop() {
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}
