import { parseUsd } from '@warden/contracts';
import { z } from 'zod';
import { costOfModelCall } from '../money.js';

/** Prices are per million tokens. */
const TOKENS_PER_PRICE_UNIT = 1_000_000n;

/** The largest price accepted, per million tokens: far above any model, far below 2^53 µ$. */
export const MAX_USD_PER_MTOK = 1_000_000;

/**
 * A USD amount in config, converted to integer micro-USD. Only strings are accepted: a YAML or
 * JSON number (`0.15`) has already been through a float by the time the schema sees it.
 */
export const UsdAmount = z
  .string({ error: 'must be a USD amount as a string, e.g. "3.00" (quote it in YAML)' })
  .transform((text, ctx) => {
    const parsed = parseUsd(text);
    if (!parsed.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a USD amount with at most 6 decimals, e.g. "3.00" or "0.000150"`,
      });
      return z.NEVER;
    }
    return parsed.microUsd;
  });

/** A model name as the runtime asks for it (`claude-haiku-4`, `gpt-4.1-mini`). */
export const ModelName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, { error: 'must be a model name, e.g. gpt-4.1-mini' });

const PricePerMTok = UsdAmount.refine((micros) => micros <= MAX_USD_PER_MTOK * 1_000_000, {
  error: `must be at most ${MAX_USD_PER_MTOK} USD per million tokens`,
});

/** One model's entry in the price table, as configured. */
export const ModelPriceConfig = z
  .strictObject({
    /** 1 is the cheapest tier; higher is stronger (and dearer). */
    tier: z.number().int().min(1).max(9),
    input_usd_per_mtok: PricePerMTok,
    output_usd_per_mtok: PricePerMTok,
    /** The model's own ceiling on output tokens, if it has one. */
    max_output_tokens: z.number().int().positive().optional(),
  })
  .transform(({ tier, input_usd_per_mtok, output_usd_per_mtok, max_output_tokens }) => ({
    tier,
    input_micro_usd_per_mtok: input_usd_per_mtok,
    output_micro_usd_per_mtok: output_usd_per_mtok,
    ...(max_output_tokens === undefined ? {} : { max_output_tokens }),
  }));

/** One model's prices in integer micro-USD per million tokens. */
export interface ModelPrice {
  readonly tier: number;
  readonly input_micro_usd_per_mtok: number;
  readonly output_micro_usd_per_mtok: number;
  readonly max_output_tokens?: number;
}

/** The price table: model name → prices (config keys in USD, values in micro-USD). */
export const PriceTable = z.record(ModelName, ModelPriceConfig);
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * The cost of a model call in micro-USD, rounded up once over the whole call:
 * ⌈(input × input price + output × output price) / 10^6⌉. BigInt, because tokens × µ$ per
 * million tokens passes 2^53 for long prompts on dear models. Saturates at
 * `Number.MAX_SAFE_INTEGER` (9 billion USD), which no budget admits.
 */
export function priceTokens(price: ModelPrice, inputTokens: number, outputTokens: number): number {
  try {
    return costOfModelCall(
      { inputTokens, outputTokens },
      {
        inputMicroUsdPerMillion: price.input_micro_usd_per_mtok,
        outputMicroUsdPerMillion: price.output_micro_usd_per_mtok,
      },
    );
  } catch {
    // Beyond the safe integer range: no budget admits it, and routing must not throw.
    return Number.MAX_SAFE_INTEGER;
  }
}

/**
 * The most output tokens a call may produce after `inputTokens` with at most `budgetMicroUsd`
 * spent in all, by {@link priceTokens}'s rounding: the largest n with
 * ⌈(input × input price + n × output price) / 10^6⌉ ≤ budget, i.e.
 * n = ⌊(budget × 10^6 − input × input price) / output price⌋. `undefined` when output is free
 * (no budget bound) and -1 when even the input alone does not fit.
 */
export function maxAffordableOutputTokens(
  price: ModelPrice,
  inputTokens: number,
  budgetMicroUsd: number,
): number | undefined {
  const room = BigInt(budgetMicroUsd) * TOKENS_PER_PRICE_UNIT - tokenCost(price, inputTokens, 0);
  if (room < 0n) return -1;
  const outputPrice = BigInt(price.output_micro_usd_per_mtok);
  if (outputPrice === 0n) return undefined;
  return toSafeNumber(room / outputPrice);
}

/** Cost in µ$ × 10^6 (µ$ per token is fractional: keep the million until the final division). */
function tokenCost(price: ModelPrice, inputTokens: number, outputTokens: number): bigint {
  return (
    BigInt(inputTokens) * BigInt(price.input_micro_usd_per_mtok) +
    BigInt(outputTokens) * BigInt(price.output_micro_usd_per_mtok)
  );
}

function toSafeNumber(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}
