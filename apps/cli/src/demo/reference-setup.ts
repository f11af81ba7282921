import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { BudgetSetting, ConfiguredBudgets } from '@warden/contracts';
import { BUILTIN_POLICY_FILES, builtinToolSources, shippedSchemaText } from '@warden/policy';
import {
  HELPDESK_SECRET_REF,
  POLICIES_DIR,
  REFERENCE_BUDGETS,
  REFERENCE_HUMANS,
  TOOLS_DIR,
  TRIAGE_AGENT,
} from '@warden/support-triage';
import {
  callExecutorAdmin,
  callGovernorAdmin,
  callIdentityAdmin,
  callPolicyAdmin,
  type AdminOptions,
} from '../commands/admin-options.js';
import { agentSecret, humanSecretFile, keepHumanSecret } from './demo-identity.js';

/** What the reference setup found and did, one line per part, for the progress output. */
export interface SetupReport {
  readonly lines: string[];
  /** The reference agent's client secret. */
  readonly agentSecret: string;
}

/**
 * Registers what the reference workflow needs (issue 8 §3), idempotently: a second `warden up`
 * changes nothing and logs nothing new. The people (the agent's owner and a support lead), the
 * agent, the tools (the reference ones and the built-ins), the policies (the reference set beside
 * the built-in one, published only when the active version differs), the helpdesk credential (set
 * when missing or new) and the budgets (set when they differ).
 */
export async function ensureReference(
  admin: AdminOptions & { stateDir: string },
  helpdesk: { apiToken: string; fresh: boolean },
): Promise<SetupReport> {
  const lines: string[] = [];
  lines.push(await ensureHumans(admin));
  const secret = await agentSecret(admin, TRIAGE_AGENT);
  lines.push(`agent ${TRIAGE_AGENT.agent_id} (owner ${TRIAGE_AGENT.owner}) registered`);
  lines.push(await ensureTools(admin));
  lines.push(await ensurePolicies(admin));
  lines.push(await ensureHelpdeskSecret(admin, helpdesk));
  lines.push(await ensureBudgets(admin));
  return { lines, agentSecret: secret };
}

async function ensureHumans(admin: AdminOptions & { stateDir: string }): Promise<string> {
  const { humans } = await callIdentityAdmin(admin, 'human-list', {});
  const made: string[] = [];
  for (const human of REFERENCE_HUMANS) {
    if (humans.some((known) => known.human_id === human.human_id)) continue;
    const { secret } = await callIdentityAdmin(admin, 'human-register', {
      human_id: human.human_id,
      roles: [...human.roles],
    });
    keepHumanSecret(admin.stateDir, admin.env, human.human_id, secret);
    made.push(human.human_id);
  }
  const names = REFERENCE_HUMANS.map((human) => `${human.human_id} (${human.roles.join(', ')})`);
  return `people: ${names.join(', ')}${made.length === 0 ? '' : `; secrets of new ones in ${humanSecretFile(admin.stateDir, admin.env, '<id>')}`}`;
}

async function ensureTools(admin: AdminOptions): Promise<string> {
  const files = (await readdir(TOOLS_DIR)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const sources = [
    ...(await Promise.all(
      files.map(async (file) => ({
        file,
        source: await readFile(join(TOOLS_DIR, file), 'utf8'),
      })),
    )),
    ...builtinToolSources(),
  ];
  let created = 0;
  for (const { file, source } of sources) {
    const result = await callPolicyAdmin(admin, 'tool-register', { source, file: basename(file) });
    if (result.created) created++;
  }
  return `tools: ${sources.length} registered (${created} new)`;
}

async function ensurePolicies(admin: AdminOptions): Promise<string> {
  const names = (await readdir(POLICIES_DIR)).filter((name) => name.endsWith('.cedar')).sort();
  const files = [
    ...(await Promise.all(
      names.map(async (name) => ({
        name,
        text: await readFile(join(POLICIES_DIR, name), 'utf8'),
      })),
    )),
    ...BUILTIN_POLICY_FILES,
  ];
  const schema = shippedSchemaText();
  const { active } = await callPolicyAdmin(admin, 'policy-list', {});
  if (active > 0) {
    const { version } = await callPolicyAdmin(admin, 'policy-show', { version: active });
    // The service keeps files sorted by name: compare them so.
    const byName = (list: readonly { name: string; text: string }[]) =>
      list.map(({ name, text }) => ({ name, text })).sort((a, b) => a.name.localeCompare(b.name));
    const same =
      version.schema === schema && isDeepStrictEqual(byName(version.files), byName(files));
    if (same) return `policies: version ${active} is the reference set`;
  }
  const { version } = await callPolicyAdmin(admin, 'policy-publish', {
    schema,
    files,
    message: 'support-triage reference policies and the built-in tools (warden up)',
  });
  return `policies: published version ${version.version} (the reference set)`;
}

async function ensureHelpdeskSecret(
  admin: AdminOptions,
  helpdesk: { apiToken: string; fresh: boolean },
): Promise<string> {
  const { secrets } = await callExecutorAdmin(admin, 'secret-list', {});
  if (!helpdesk.fresh && secrets.some((secret) => secret.ref === HELPDESK_SECRET_REF)) {
    return `credential ${HELPDESK_SECRET_REF}: held by the executor`;
  }
  await callExecutorAdmin(admin, 'secret-set', {
    ref: HELPDESK_SECRET_REF,
    value: helpdesk.apiToken,
  });
  return `credential ${HELPDESK_SECRET_REF}: set (only the executor holds it)`;
}

async function ensureBudgets(admin: AdminOptions): Promise<string> {
  const { budgets } = await callGovernorAdmin(admin, 'budget-show', {});
  let set = 0;
  for (const setting of REFERENCE_BUDGETS) {
    if (isConfigured(setting, budgets)) continue;
    await callGovernorAdmin(admin, 'budget-set', setting);
    set++;
  }
  return `budgets: ${REFERENCE_BUDGETS.length} reference budgets${set === 0 ? '' : ` (${set} set)`}`;
}

/** Whether `setting` is what the governor has configured already (who set it aside). */
function isConfigured(setting: BudgetSetting, budgets: ConfiguredBudgets): boolean {
  const { scope: _scope, ...limits } = setting;
  const current =
    setting.scope === 'agent'
      ? budgets.agents.find((agent) => agent.agent_id === setting.agent_id)
      : setting.scope === 'workflow'
        ? budgets.workflows.find((workflow) => workflow.workflow === setting.workflow)
        : budgets.run;
  if (current === undefined) return false;
  const { set_by: _by, set_at: _at, ...configured } = current;
  return isDeepStrictEqual(configured, limits);
}
