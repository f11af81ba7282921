import { isBuiltinTool } from '@warden/contracts';

/** The verdict on one intent, before it becomes events. */
export type Decision =
  | { effect: 'allow'; policyIds: string[] }
  | {
      effect: 'deny';
      policyIds: string[];
      reason: 'unknown_tool' | 'not_allowed';
      message: string;
    };

/** The id recorded as the determining policy of every decision of the static allowlist. */
export const ALLOWLIST_POLICY_ID = 'static-allowlist';

/**
 * Deny by default: a tool nobody declared is unknown; a known tool is allowed only when the
 * allowlist names it. Known tools are the built-ins until the tool registry exists.
 */
export function decide(tool: string, allowed: ReadonlySet<string>): Decision {
  if (!isBuiltinTool(tool)) {
    return {
      effect: 'deny',
      policyIds: [],
      reason: 'unknown_tool',
      message: `no tool named ${tool} is registered`,
    };
  }
  if (!allowed.has(tool)) {
    return {
      effect: 'deny',
      policyIds: [ALLOWLIST_POLICY_ID],
      reason: 'not_allowed',
      message: `${tool} is not on this deployment's allowlist (POLICY_ALLOWED_TOOLS)`,
    };
  }
  return { effect: 'allow', policyIds: [ALLOWLIST_POLICY_ID] };
}
