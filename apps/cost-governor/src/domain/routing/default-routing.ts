import { parse } from 'yaml';
import { RoutingConfig, type RoutingTable } from './router.js';

/**
 * The routing used when `GOVERNOR_ROUTING_FILE` is not set: three tiers of placeholder models
 * priced like today's small, mid and frontier models. Operators replace it with their own
 * models and prices; the file has the same shape.
 */
export const DEFAULT_ROUTING_YAML = `
models:
  small-model: { tier: 1, input_usd_per_mtok: "0.15", output_usd_per_mtok: "0.60" }
  mid-model: { tier: 2, input_usd_per_mtok: "1.00", output_usd_per_mtok: "4.00" }
  top-model: { tier: 3, input_usd_per_mtok: "3.00", output_usd_per_mtok: "15.00" }
classes:
  extraction: { models: [small-model], max_output_tokens: 1024 }
  classification: { models: [small-model], max_output_tokens: 256 }
  drafting: { models: [mid-model, small-model], max_output_tokens: 2048, min_output_tokens: 256 }
  planning: { models: [top-model, mid-model, small-model], max_output_tokens: 4096, min_output_tokens: 512 }
default_class: drafting
route_down_below_usd: "0.50"
verifier: top-model
`;

/** Parses a routing config (YAML or JSON text); throws with every problem listed. */
export function parseRouting(text: string): RoutingTable {
  const parsed = RoutingConfig.safeParse(parse(text));
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new Error(`invalid routing config: ${problems.join('; ')}`);
}
