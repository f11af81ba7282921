import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OutcomeUnknownError } from '../src/adapters/adapter-errors.js';
import { HttpAdapter } from '../src/adapters/http/http-adapter.js';
import type { AdapterCall, AdapterResult, PreparedTool } from '../src/adapters/tool-adapter.js';
import { parseUpstreamTable, type UpstreamTable } from '../src/adapters/upstreams.js';

/** A request as the server received it: the request target and headers exactly as sent. */
interface Recorded {
  readonly method: string;
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

interface Recorder {
  readonly server: Server;
  readonly port: number;
  readonly seen: Recorded[];
}

const SECRET = 'super-secret-token-value';
const INTENT = '01JABCDEFGHJKMNPQRSTVWXYZ0';

async function startRecorder(
  route: (req: IncomingMessage, res: ServerResponse, recorder: Recorder) => void,
): Promise<Recorder> {
  const seen: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        headers[req.rawHeaders[i]!.toLowerCase()] = req.rawHeaders[i + 1]!;
      seen.push({
        method: req.method!,
        target: req.url!,
        headers,
        body: Buffer.concat(chunks).toString(),
      });
      route(req, res, recorder);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const recorder: Recorder = { server, port: (server.address() as AddressInfo).port, seen };
  return recorder;
}

const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

let main: Recorder;
let other: Recorder;
let adapter: HttpAdapter;
// A privileged port nothing listens on: a free ephemeral port can be taken by a parallel test
// between choosing it and connecting (CI once got an answer from whoever took it).
const closedPort = 1;

function upstreams(): UpstreamTable {
  const parsed = parseUpstreamTable(`
helpdesk:
  base_url: http://127.0.0.1:${main.port}/api
  tools: ["zendesk.*"]
  allow_private: true
guarded:
  base_url: http://127.0.0.1:${main.port}
  tools: ["zendesk.*"]
closed:
  base_url: http://127.0.0.1:${closedPort}
  tools: ["*"]
  allow_private: true
`);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.table;
}

function prepare(section: Record<string, unknown>, tool = 'zendesk.update_ticket'): PreparedTool {
  const prepared = adapter.prepare(tool, { adapter: 'http', target: 'helpdesk', ...section });
  if (!prepared.ok) throw new Error(prepared.problems.join('; '));
  return prepared;
}

function call(
  tool: PreparedTool,
  args: Record<string, unknown>,
  extra: Partial<AdapterCall> = {},
): Promise<AdapterResult> {
  return tool.call({ args, intentId: INTENT, signal: new AbortController().signal, ...extra });
}

beforeAll(async () => {
  other = await startRecorder((_req, res) => {
    json(res, 200, { other: true });
  });
  main = await startRecorder((req, res) => {
    const routes: Record<string, () => void> = {
      '/api/rejected': () => {
        json(res, 404, { error: `no such ticket (auth was ${req.headers.authorization})` });
      },
      '/api/broken': () => {
        json(res, 503, { error: 'down' });
      },
      '/api/big': () => {
        json(res, 200, { blob: 'x'.repeat(4096) });
      },
      '/api/slow': () => undefined, // never answers
      '/api/text': () => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('plain words');
      },
      '/api/redirect-same': () => {
        json(res, 302, {}, { Location: '/api/after-redirect?from=same' });
      },
      '/api/redirect-other': () => {
        json(res, 307, {}, { Location: `http://127.0.0.1:${other.port}/stolen` });
      },
      '/api/redirect-loop': () => {
        json(res, 302, {}, { Location: '/api/redirect-loop' });
      },
    };
    const route = routes[req.url!.split('?')[0]!];
    if (route === undefined) json(res, 200, { method: req.method, target: req.url });
    else route();
  });
  adapter = new HttpAdapter({ upstreams: upstreams() });
});

afterAll(async () => {
  await Promise.all([main, other].map((r) => new Promise((resolve) => r.server.close(resolve))));
});

beforeEach(() => {
  main.seen.length = 0;
  other.seen.length = 0;
});

describe('http adapter against a real server', () => {
  it('sends method, path, query, body and headers as declared', async () => {
    const tool = prepare({
      method: 'PATCH',
      path: '/tickets/{ticket_id}',
      query: { notify: '{notify}' },
      headers: { 'X-Client': 'warden' },
      secret_ref: 'helpdesk/api-token',
    });
    const result = await call(
      tool,
      { ticket_id: 42, notify: true, status: 'solved' },
      { secret: SECRET },
    );

    expect(result).toEqual({
      ok: true,
      output: { method: 'PATCH', target: '/api/tickets/42?notify=true' },
      upstreamStatus: 200,
    });
    expect(main.seen).toHaveLength(1);
    const [sent] = main.seen;
    expect(sent).toMatchObject({ method: 'PATCH', target: '/api/tickets/42?notify=true' });
    expect(JSON.parse(sent!.body)).toEqual({ ticket_id: 42, notify: true, status: 'solved' });
    expect(sent!.headers).toMatchObject({
      'idempotency-key': INTENT,
      authorization: `Bearer ${SECRET}`,
      'content-type': 'application/json',
      accept: 'application/json',
      'x-client': 'warden',
      host: `127.0.0.1:${main.port}`,
    });
  });

  it('keeps hostile args inside one path segment and one query value', async () => {
    const tool = prepare({ method: 'GET', path: '/tickets/{id}', query: { q: '{q}' } });
    const hostile = '../../admin%2e%2e/x?admin=1#frag\r\nX-Evil: yes';
    await call(tool, { id: hostile, q: hostile });
    const encoded = '%2E%2E%2F%2E%2E%2Fadmin%252e%252e%2Fx%3Fadmin%3D1%23frag%0D%0AX-Evil%3A%20yes';
    expect(main.seen.map((r) => r.target)).toEqual([`/api/tickets/${encoded}?q=${encoded}`]);
    expect(main.seen[0]!.headers['x-evil']).toBeUndefined();

    const dots = await call(tool, { id: '..' });
    expect(dots).toMatchObject({ ok: false, reason: 'invalid_args', maybeApplied: false });
    expect(main.seen).toHaveLength(1);
  });

  it('signs a per-call token the upstream can verify with the secret', async () => {
    const tool = prepare({
      method: 'POST',
      path: '/tickets',
      secret_ref: 'helpdesk/api-token',
      auth: 'per_call_token',
    });
    await call(tool, { subject: 'hi' }, { secret: SECRET });
    const auth = main.seen[0]!.headers.authorization!;
    expect(auth).toMatch(/^Bearer ey/);
    expect(auth).not.toContain(SECRET);
    const { payload, protectedHeader } = await jwtVerify(
      auth.slice('Bearer '.length),
      new TextEncoder().encode(SECRET),
      { audience: 'helpdesk', subject: 'zendesk.update_ticket', algorithms: ['HS256'] },
    );
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.jti).toBe(INTENT);
    expect(payload.exp! - payload.iat!).toBe(60);
  });

  it('fails without sending when the secret is missing', async () => {
    const tool = prepare({ method: 'POST', path: '/tickets', secret_ref: 'helpdesk/api-token' });
    expect(await call(tool, {})).toMatchObject({
      ok: false,
      reason: 'secret_missing',
      maybeApplied: false,
    });
    expect(main.seen).toHaveLength(0);
  });

  it('maps 4xx to upstream_rejected, never echoing the secret', async () => {
    const tool = prepare({ method: 'PATCH', path: '/rejected', secret_ref: 'helpdesk/api-token' });
    const result = await call(tool, {}, { secret: SECRET });
    expect(result).toMatchObject({
      ok: false,
      reason: 'upstream_rejected',
      maybeApplied: false,
      upstreamStatus: 404,
    });
    if (!result.ok) {
      expect(result.message).toMatch(/^upstream helpdesk answered 404: .*no such ticket/);
      expect(result.message).not.toContain(SECRET);
      expect(result.message).toContain('[redacted]');
    }
  });

  it('maps 5xx to upstream_error, maybe applied for a write only', async () => {
    const write = prepare({ method: 'POST', path: '/broken' });
    const read = prepare({ method: 'GET', path: '/broken' });
    expect(await call(write, {})).toMatchObject({
      ok: false,
      reason: 'upstream_error',
      maybeApplied: true,
      upstreamStatus: 503,
    });
    expect(await call(read, {})).toMatchObject({
      ok: false,
      reason: 'upstream_error',
      maybeApplied: false,
      upstreamStatus: 503,
    });
  });

  it('returns text when the answer is not JSON', async () => {
    expect(await call(prepare({ method: 'GET', path: '/text' }), {})).toEqual({
      ok: true,
      output: 'plain words',
      upstreamStatus: 200,
    });
  });

  it('stops reading an answer over max_response_bytes', async () => {
    const tool = prepare({ method: 'GET', path: '/big', max_response_bytes: 1024 });
    expect(await call(tool, {})).toMatchObject({
      ok: false,
      reason: 'response_too_large',
      maybeApplied: false,
    });
  });

  it('throws OutcomeUnknownError when no answer comes in time', async () => {
    const tool = prepare({ method: 'POST', path: '/slow', timeout_ms: 300 });
    const started = Date.now();
    await expect(call(tool, {})).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(call(tool, {})).rejects.toMatchObject({ unknownCause: 'timeout' });
  });

  it('follows a redirect on the same host, resending the idempotency key', async () => {
    const tool = prepare({ method: 'GET', path: '/redirect-same' });
    expect(await call(tool, {})).toMatchObject({
      ok: true,
      output: { target: '/api/after-redirect?from=same' },
    });
    expect(main.seen.map((r) => [r.target, r.headers['idempotency-key']])).toEqual([
      ['/api/redirect-same', INTENT],
      ['/api/after-redirect?from=same', INTENT],
    ]);
  });

  it('refuses a redirect to a host (another port) not in allow_hosts, and never connects to it', async () => {
    const write = prepare({
      method: 'POST',
      path: '/redirect-other',
      secret_ref: 'helpdesk/api-token',
    });
    const result = await call(write, { a: 1 }, { secret: SECRET });
    expect(result).toMatchObject({ ok: false, reason: 'redirect_refused', maybeApplied: true });
    if (!result.ok) expect(result.message).toMatch(/allow_hosts/);
    expect(other.seen).toHaveLength(0);

    const read = prepare({ method: 'GET', path: '/redirect-other' });
    expect(await call(read, {})).toMatchObject({
      ok: false,
      reason: 'redirect_refused',
      maybeApplied: false,
    });
    expect(other.seen).toHaveLength(0);
  });

  it('gives up after three redirects', async () => {
    const result = await call(prepare({ method: 'GET', path: '/redirect-loop' }), {});
    expect(result).toMatchObject({ ok: false, reason: 'redirect_refused', maybeApplied: false });
    expect(main.seen).toHaveLength(4);
  });

  it('refuses a private upstream without allow_private before any connection', async () => {
    const tool = prepare({ target: 'guarded', method: 'GET', path: '/anything' });
    const result = await call(tool, {});
    expect(result).toMatchObject({ ok: false, reason: 'destination_refused', maybeApplied: false });
    if (!result.ok)
      expect(result.message).toMatch(
        /loopback address, refused unless the upstream sets allow_private: true/,
      );
    expect(main.seen).toHaveLength(0);
  });

  it('connects to the address it vetted, keeping the name as Host (DNS pinning)', async () => {
    // `helpdesk.invalid` resolves only through the adapter's resolver: reaching the server at all
    // proves the socket used the vetted address rather than a second lookup.
    const parsed = parseUpstreamTable(`
named:
  base_url: http://helpdesk.invalid:${main.port}
  tools: ["*"]
  allow_private: true
`);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const asked: string[] = [];
    const pinned = new HttpAdapter({
      upstreams: parsed.table,
      resolve: (host) => {
        asked.push(host);
        return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
      },
    });
    const tool = pinned.prepare('any.tool', {
      adapter: 'http',
      target: 'named',
      method: 'GET',
      path: '/p',
    });
    if (!tool.ok) throw new Error(tool.problems.join('; '));
    expect(await call(tool, {})).toMatchObject({ ok: true, upstreamStatus: 200 });
    expect(asked).toEqual(['helpdesk.invalid']);
    expect(main.seen[0]?.headers.host).toBe(`helpdesk.invalid:${main.port}`);
  });

  it('reports a refused connection as upstream_unavailable: nothing was sent', async () => {
    const tool = prepare({ target: 'closed', method: 'POST', path: '/x' }, 'any.tool');
    expect(await call(tool, {})).toMatchObject({
      ok: false,
      reason: 'upstream_unavailable',
      maybeApplied: false,
    });
  });
});
