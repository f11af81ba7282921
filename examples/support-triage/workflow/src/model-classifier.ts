import type { Run } from '@warden/sdk';
import { z } from 'zod';
import type { Ticket } from './ticket.js';
import { decide, type TicketAction } from './triage-rules.js';

/** Decides what to do with a ticket: the rules, or a model. */
export interface Classifier {
  decide(ticket: Ticket, queue: readonly Ticket[], run: ModelRun): Promise<TicketAction>;
}

/** What a classifier may use of a run: Warden's model routing and usage reports. */
export type ModelRun = Pick<Run, 'model' | 'reportModelUsage'>;

/** The deterministic rules of `triage-rules.ts` (the default: tests and the demo are stable). */
export const RULES: Classifier = {
  decide: (ticket, queue) => Promise.resolve(decide(ticket, queue)),
};

/** What the model must answer: one action, as JSON. */
const ModelAnswer = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('update'),
    status: z.enum(['open', 'pending', 'hold', 'solved']).optional(),
    priority: z.enum(['low', 'normal', 'high']).optional(),
    tags: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/))
      .max(20)
      .optional(),
    note: z.string().min(1).max(2000),
  }),
  z.object({ kind: z.literal('spam') }),
  z.object({ kind: z.literal('duplicate'), of: z.number().int().positive() }),
  z.object({ kind: z.literal('payroll'), period: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }),
  z.object({ kind: z.literal('close_all') }),
  z.object({ kind: z.literal('skip'), why: z.string().max(200) }),
]);

const SYSTEM_PROMPT = `You triage a helpdesk queue. Answer with one JSON object, nothing else:
{"kind":"update","status":"open|pending|hold|solved","priority":"low|normal|high","tags":["..."],"note":"internal note"}
| {"kind":"spam"} | {"kind":"duplicate","of":<earlier ticket id of the same requester>}
| {"kind":"payroll","period":"YYYY-MM-DD"} when the ticket asks for a payroll re-run
| {"kind":"close_all"} when the ticket tells you to close all tickets | {"kind":"skip","why":"..."}`;

/** The chat completion fields used (OpenAI-compatible). */
const Completion = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).optional(),
});

/**
 * Asks an OpenAI-compatible endpoint (`OPENAI_BASE_URL`) instead of the rules, through Warden's
 * routing: `run.model` picks the model the run's budget affords (task class `classification`),
 * the answer is checked against the actions the agent knows, and the tokens used are reported
 * (`run.reportModelUsage`) so the governor books them. An answer that is no valid action falls
 * back to the rules: a model's slip must not become a tool call nobody meant.
 */
export class ModelClassifier implements Classifier {
  constructor(
    private readonly options: {
      baseUrl: string;
      apiKey?: string;
      /** The endpoint's own name for the model, when Warden's routing table names it otherwise. */
      model?: string;
      fetch?: typeof fetch;
    },
  ) {}

  async decide(ticket: Ticket, queue: readonly Ticket[], run: ModelRun): Promise<TicketAction> {
    const prompt = JSON.stringify({
      ticket,
      others: queue.map(({ id, subject, requester_email }) => ({ id, subject, requester_email })),
    });
    const route = await run.model({
      taskClass: 'classification',
      estimatedTokens: Math.ceil((SYSTEM_PROMPT.length + prompt.length) / 4),
    });
    const started = performance.now();
    const response = await (this.options.fetch ?? fetch)(
      `${this.options.baseUrl.replace(/\/$/, '')}/chat/completions`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.options.apiKey === undefined
            ? {}
            : { authorization: `Bearer ${this.options.apiKey}` }),
        },
        body: JSON.stringify({
          model: this.options.model ?? route.model,
          max_tokens: route.maxOutputTokens,
          temperature: 0,
          messages: [
            { role: 'system', content: SYSTEM_PROMPT },
            { role: 'user', content: prompt },
          ],
        }),
      },
    );
    const completion = Completion.safeParse(response.ok ? await response.json() : undefined);
    await run.reportModelUsage({
      model: route.model,
      inputTokens: completion.data?.usage?.prompt_tokens ?? 0,
      outputTokens: completion.data?.usage?.completion_tokens ?? 0,
      latencyMs: performance.now() - started,
    });
    const answer = completion.success
      ? ModelAnswer.safeParse(parseJson(completion.data.choices[0]?.message.content ?? ''))
      : undefined;
    if (answer?.success !== true) return decide(ticket, queue);
    return actionOf(answer.data, ticket);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function actionOf(answer: z.infer<typeof ModelAnswer>, ticket: Ticket): TicketAction {
  const why = 'the model said so';
  switch (answer.kind) {
    case 'update':
      return {
        kind: 'update',
        patch: {
          ...(answer.status === undefined ? {} : { status: answer.status }),
          ...(answer.priority === undefined ? {} : { priority: answer.priority }),
          ...(answer.tags === undefined
            ? {}
            : { tags: [...new Set([...ticket.tags, ...answer.tags])] }),
          comment: { body: answer.note, public: false },
        },
        why,
      };
    case 'spam':
      return { kind: 'spam', why };
    case 'duplicate':
      return { kind: 'duplicate', of: answer.of, why };
    case 'payroll':
      return { kind: 'payroll', period: answer.period, why };
    case 'close_all':
      return { kind: 'obey', instruction: 'close_all', why };
    case 'skip':
      return { kind: 'skip', why: answer.why };
  }
}
