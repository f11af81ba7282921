import { collectArgValues, parseArgPath } from './arg-paths.js';
import { evaluateCondition } from './risk-condition.js';
import { STANDARD_RISK_FLAGS, type ToolDeclaration } from './tool-declaration.js';

/**
 * The risk of one call, as Cedar's context sees it. Every standard flag is always present, and so
 * is every flag the tool's rules can raise (false until a rule holds): a policy that reads an
 * absent attribute errors, and Cedar skips an erroring policy, so a forbid would silently stop
 * forbidding (issue 5).
 */
export interface RiskFlags {
  readonly write: boolean;
  readonly bulk: boolean;
  readonly money: boolean;
  readonly pii: boolean;
  readonly permission: boolean;
  readonly production: boolean;
  readonly [flag: string]: boolean;
}

/** What {@link deriveRisk} reads of a declaration. */
export type RiskSource = Pick<ToolDeclaration, 'kind' | 'pii' | 'risk'>;

/**
 * Derives the risk flags of a call from its tool and its validated args: `write` from the tool's
 * kind, `pii` when any `pii` path holds a value, and each rule's flag when its condition holds
 * (several rules may raise one flag; any one suffices). Total: never throws, whatever `args` is.
 */
export function deriveRisk(tool: RiskSource, args: unknown): RiskFlags {
  const flags: Record<string, boolean> = { write: tool.kind === 'write' };
  for (const flag of STANDARD_RISK_FLAGS) flags[flag] = false;
  for (const rule of tool.risk) flags[rule.flag] ??= false;
  flags.pii = tool.pii.some((path) => {
    const segments = parseArgPath(path);
    return (
      segments !== undefined && collectArgValues(args, segments).some((value) => value !== null)
    );
  });
  for (const rule of tool.risk) {
    if (flags[rule.flag] !== true && evaluateCondition(rule.when, args)) flags[rule.flag] = true;
  }
  return flags as unknown as RiskFlags;
}
