import { readdirSync, readFileSync } from 'node:fs';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { CREDENTIAL_HEADER, subjects } from '@warden/contracts';
import { BUILTIN_POLICY_FILES } from '@warden/policy';

const EXAMPLE = new URL('../../../../examples/support-triage/', import.meta.url);

/** The files of a folder of the reference workflow (`policies`, `tools`), sorted by name. */
export function exampleFiles(dir: string): { name: string; text: string }[] {
  const folder = new URL(`${dir}/`, EXAMPLE);
  return readdirSync(folder)
    .sort()
    .map((name) => ({ name, text: readFileSync(new URL(name, folder), 'utf8') }));
}

/** The reference policies with the built-ins: `echo` is allowed. */
export const ACTIVE_SET = () => [...exampleFiles('policies'), ...BUILTIN_POLICY_FILES];

/** A candidate that permits only `noop` among the built-ins: `echo` is denied. */
export const STRICT_SET = () => [
  ...exampleFiles('policies'),
  { name: 'builtin.cedar', text: 'permit (principal, action, resource == Warden::Tool::"noop");' },
];

/** Humans the stand-in identity broker knows, by token. */
const HUMANS: Record<string, { human_id: string; roles: string[] }> = {
  'admin-token': { human_id: 'ada', roles: ['admin'] },
  'support-token': { human_id: 'sue', roles: ['support'] },
};

/**
 * Answers `identity.human-introspect` of `env` as the broker does, for `admin-token` (ada, admin)
 * and `support-token` (sue): an app may not start another app's code, so the broker itself is
 * proven across processes by the e2e specs.
 */
export function standInIdentityBroker(nc: NatsConnection, env: string): void {
  const subscription = nc.subscribe(subjects.api(env, 'identity', 'human-introspect'));
  void (async () => {
    for await (const message of subscription) {
      const human = HUMANS[message.headers?.get(CREDENTIAL_HEADER) ?? ''];
      message.respond(
        JSON.stringify(
          human === undefined
            ? { ok: false, error: { code: 'unauthenticated', message: 'unknown token' } }
            : { ok: true, result: human },
        ),
      );
    }
  })();
}

/** One policy API call (`{ ok, result | error }`), with a human token unless `token` is null. */
export async function callPolicyApi(
  nc: NatsConnection,
  env: string,
  op: string,
  body: unknown,
  token: string | null,
): Promise<unknown> {
  const headers = natsHeaders();
  if (token !== null) headers.set(CREDENTIAL_HEADER, token);
  const reply = await nc.request(subjects.api(env, 'policy', op), JSON.stringify(body), {
    timeout: 10_000,
    headers,
  });
  return reply.json<unknown>();
}
