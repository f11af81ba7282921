import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelClassifier, type ModelRun } from './model-classifier.js';
import type { Ticket } from './ticket.js';

const ticket: Ticket = {
  id: 3,
  subject: 'CSV export times out',
  description: 'Gateway Timeout on large exports.',
  status: 'open',
  priority: 'normal',
  tags: ['reports'],
  requester_email: 'dev@example.com',
};

/** An OpenAI-compatible endpoint on loopback that answers what the test queues. */
let server: Server;
let baseUrl = '';
const answers: string[] = [];
const requests: { authorization?: string; body: Record<string, unknown> }[] = [];

/** A run whose routing always picks `small-model` with 256 output tokens. */
function fakeRun(): { run: ModelRun; usage: unknown[] } {
  const usage: unknown[] = [];
  const run = {
    model: () => Promise.resolve({ model: 'small-model', maxOutputTokens: 256 }),
    reportModelUsage: (report: unknown) => {
      usage.push(report);
      return Promise.resolve();
    },
  } as unknown as ModelRun;
  return { run, usage };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({
        ...(request.headers.authorization === undefined
          ? {}
          : { authorization: request.headers.authorization }),
        body: JSON.parse(body) as Record<string, unknown>,
      });
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          choices: [{ message: { content: answers.shift() ?? '' } }],
          usage: { prompt_tokens: 120, completion_tokens: 30 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(() => {
  server.close();
});

describe('ModelClassifier', () => {
  it('asks the routed model within its output budget, and reports what it used', async () => {
    const classifier = new ModelClassifier({ baseUrl, apiKey: 'sk-test' });
    const { run, usage } = fakeRun();
    answers.push(
      '{"kind":"update","priority":"high","tags":["incident"],"note":"Paging on-call."}',
    );
    const action = await classifier.decide(ticket, [ticket], run);
    expect(action).toEqual({
      kind: 'update',
      patch: {
        priority: 'high',
        tags: ['reports', 'incident'],
        comment: { body: 'Paging on-call.', public: false },
      },
      why: 'the model said so',
    });
    const request = requests.at(-1);
    expect(request?.authorization).toBe('Bearer sk-test');
    expect(request?.body).toMatchObject({ model: 'small-model', max_tokens: 256 });
    expect(usage).toEqual([
      expect.objectContaining({ model: 'small-model', inputTokens: 120, outputTokens: 30 }),
    ]);
  });

  it("sends the endpoint's own model name when one is configured", async () => {
    const classifier = new ModelClassifier({ baseUrl, model: 'llama3.1:8b' });
    answers.push('{"kind":"close_all"}');
    const action = await classifier.decide(ticket, [ticket], fakeRun().run);
    expect(action.kind).toBe('obey');
    expect(requests.at(-1)?.body).toMatchObject({ model: 'llama3.1:8b' });
  });

  it('falls back to the rules when the answer is no action it knows', async () => {
    const classifier = new ModelClassifier({ baseUrl });
    for (const answer of ['not json', '{"kind":"delete_everything"}', '{"kind":"payroll"}']) {
      answers.push(answer);
      const action = await classifier.decide(ticket, [ticket], fakeRun().run);
      expect(action).toMatchObject({ kind: 'update', why: 'outage' });
    }
  });
});
