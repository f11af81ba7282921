import type { POLICY_API, PolicyApiOp } from '@warden/contracts';
import type { z } from 'zod';
import { shippedSchemaText } from '../shipped-schema.js';
import { BUILTIN_POLICY_FILES, builtinToolSources } from './builtin-tools.js';

/** Calls one policy API op as an admin; each caller brings its own transport and token. */
export type PolicyApiCall = <O extends PolicyApiOp>(
  op: O,
  body: z.input<(typeof POLICY_API)[O]['request']>,
) => Promise<z.output<(typeof POLICY_API)[O]['result']>>;

/**
 * What calling the built-in tools through the whole mesh needs (tests, the bench, the demo): their
 * declarations registered and, when no policy version is active yet, the built-in policy set
 * (every built-in but `fail`) published with `message`. Idempotent: a registered version is a
 * no-op, and an env with policies of its own keeps them.
 */
export async function seedBuiltins(call: PolicyApiCall, message: string): Promise<void> {
  for (const { file, source } of builtinToolSources()) {
    await call('tool-register', { source, file });
  }
  const { active } = await call('policy-list', {});
  if (active > 0) return;
  await call('policy-publish', {
    schema: shippedSchemaText(),
    files: [...BUILTIN_POLICY_FILES],
    message,
  });
}
