import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultPlan, type Faults } from '../domain/faults.js';
import { isValidIdempotencyKey, requestFingerprint } from '../domain/idempotency.js';
import { BulkClose, NoteInput, TicketPatch, TicketSearch } from '../domain/ticket.js';
import { HelpdeskError, statusOf } from '../helpdesk.errors.js';
import type { TicketStore } from '../infra/ticket-store.js';
import type { Logger } from '../log.js';
import type { TicketService, WriteRequest, WriteResult } from '../ticket-service.js';
import { type BearerAuth, bearerToken, sameSecret } from './auth.js';
import { parseInput, readJson, type Reply, sendJson } from './http-io.js';

/** What the router needs. */
export interface RouterDeps {
  readonly tickets: TicketService;
  readonly store: TicketStore;
  readonly auth: BearerAuth;
  readonly adminToken: string | undefined;
  readonly faults: Faults;
  readonly log: Logger;
}

/** Fields of a request's log line: ids and outcomes, never headers or bodies. */
type RequestFields = Record<string, string | number | boolean | null>;

/** One request being served. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly url: URL;
  /** `url.pathname`. */
  readonly path: string;
  /** Added to the request's log line. */
  readonly fields: RequestFields;
}

const TICKET_PATH = /^\/tickets\/([^/]+)(\/notes)?$/;

const ok = (body: unknown, status = 200): Reply => ({ status, body });

function ticketId(raw: string): number {
  const id = /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw HelpdeskError.notFound(`ticket ${JSON.stringify(raw)}`);
  return id;
}

function methodNotAllowed(method: string, path: string): HelpdeskError {
  return new HelpdeskError('method_not_allowed', `${method} is not allowed on ${path}`);
}

/**
 * The HTTP edge: authenticates, applies injected faults, parses input and calls one
 * {@link TicketService} method per route. No ticket rule lives here.
 */
export class Router {
  constructor(private readonly deps: RouterDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://helpdesk.invalid');
    const fields: RequestFields = {};
    let reply: Reply;
    try {
      reply = await this.route({ req, method, url, path: url.pathname, fields });
    } catch (error) {
      reply = this.replyToError(error, fields);
    }
    sendJson(res, reply);
    // The path without its query (a search may name a customer), and no header, ever.
    this.deps.log.info('request', {
      method,
      path: url.pathname,
      status: reply.status,
      duration_ms: Math.round(performance.now() - started),
      ...fields,
    });
  }

  private replyToError(error: unknown, fields: RequestFields): Reply {
    if (error instanceof HelpdeskError) {
      fields['error'] = error.code;
      const headers: Record<string, string> =
        error.code === 'unauthorized' ? { 'www-authenticate': 'Bearer realm="helpdesk"' } : {};
      return {
        status: statusOf(error.code),
        body: { error: error.code, message: error.message },
        headers,
      };
    }
    this.deps.log.error('request failed', {
      error: error instanceof Error ? error.message : String(error),
    });
    return { status: 500, body: { error: 'internal', message: 'internal error' } };
  }

  private async route(exchange: Exchange): Promise<Reply> {
    const { method, path, fields } = exchange;
    if (path === '/healthz') {
      if (method !== 'GET') throw methodNotAllowed(method, path);
      return ok({ status: 'ok' });
    }
    if (path.startsWith('/_admin/')) return this.admin(exchange);
    if (path === '/tickets' || path.startsWith('/tickets/')) {
      await this.authenticate(exchange);
      const failure = this.deps.faults.takeFailure();
      if (failure !== undefined) {
        fields['fault'] = true;
        return { status: failure, body: { error: 'injected_fault', message: 'injected fault' } };
      }
      try {
        return await this.tickets(exchange);
      } finally {
        const { delay_ms } = this.deps.faults.current();
        if (delay_ms > 0) await sleep(delay_ms);
      }
    }
    throw HelpdeskError.notFound(`route ${method} ${path}`);
  }

  private async authenticate({ req, fields }: Exchange): Promise<void> {
    const caller = await this.deps.auth.check(req.headers.authorization);
    if (!caller.ok) throw new HelpdeskError('unauthorized', caller.reason);
    fields['auth'] = caller.method;
    if (caller.method === 'jwt') fields['jti'] = caller.jti;
  }

  private async tickets(exchange: Exchange): Promise<Reply> {
    const { req, method, url, path, fields } = exchange;
    const { tickets } = this.deps;
    if (path === '/tickets') {
      if (method !== 'GET') throw methodNotAllowed(method, path);
      const search = parseInput(TicketSearch, Object.fromEntries(url.searchParams), 'search');
      return ok({ tickets: tickets.search(search) });
    }
    if (path === '/tickets/bulk_close') {
      if (method !== 'POST') throw methodNotAllowed(method, path);
      const body = await readJson(req);
      const input = parseInput(BulkClose, body, 'bulk close');
      return this.write(exchange, body, (request) => tickets.bulkClose(input, request));
    }
    const match = TICKET_PATH.exec(path);
    if (!match) throw HelpdeskError.notFound(`route ${method} ${path}`);
    const id = ticketId(match[1] ?? '');
    fields['ticket_id'] = id;
    if (match[2] !== undefined) {
      if (method !== 'POST') throw methodNotAllowed(method, path);
      const body = await readJson(req);
      const note = parseInput(NoteInput, body, 'note');
      return this.write(exchange, body, (request) => tickets.addNote(id, note, request));
    }
    switch (method) {
      case 'GET':
        return ok({ ticket: tickets.get(id) });
      case 'PATCH': {
        const body = await readJson(req);
        const patch = parseInput(TicketPatch, body, 'ticket update');
        return this.write(exchange, body, (request) => tickets.update(id, patch, request));
      }
      default:
        throw methodNotAllowed(method, path);
    }
  }

  // A valid write: check the Idempotency-Key, hold the write for `delay_before_apply_ms` (the
  // request is already received: a caller that gives up meanwhile still gets it applied), then
  // apply it. The fingerprint is of the body as sent, so a retry must send the same JSON.
  private async write(
    { req, method, path, fields }: Exchange,
    body: unknown,
    apply: (request: WriteRequest) => Promise<WriteResult>,
  ): Promise<Reply> {
    const header = req.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (key !== undefined && !isValidIdempotencyKey(key)) {
      throw HelpdeskError.invalid('Idempotency-Key must be 1-255 visible ASCII characters');
    }
    if (key !== undefined) fields['idempotency_key'] = key;
    const { delay_before_apply_ms } = this.deps.faults.current();
    if (delay_before_apply_ms > 0) await sleep(delay_before_apply_ms);
    const result = await apply({
      idempotencyKey: key,
      fingerprint: requestFingerprint(method, path, body),
    });
    fields['replayed'] = result.replayed;
    return {
      status: result.status,
      body: result.body,
      headers: result.replayed ? { 'idempotent-replayed': 'true' } : {},
    };
  }

  private async admin({ req, method, path }: Exchange): Promise<Reply> {
    const { adminToken, faults, store, tickets } = this.deps;
    if (adminToken === undefined) {
      throw HelpdeskError.notFound('admin routes (HELPDESK_ADMIN_TOKEN is not set)');
    }
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || !sameSecret(token, adminToken)) {
      throw new HelpdeskError('unauthorized', 'missing or invalid admin token');
    }
    switch (`${method} ${path}`) {
      case 'GET /_admin/faults':
        return ok({ faults: faults.current() });
      case 'POST /_admin/faults':
        faults.set(parseInput(FaultPlan, await readJson(req), 'fault plan'));
        return ok({ faults: faults.current() });
      case 'DELETE /_admin/faults':
        faults.clear();
        return ok({ faults: faults.current() });
      case 'GET /_admin/writes':
        return ok({ writes: tickets.writes() });
      case 'POST /_admin/reset':
        faults.clear();
        await store.reset();
        return ok({ reset: true, tickets: store.data.tickets.length });
      default:
        throw HelpdeskError.notFound(`route ${method} ${path}`);
    }
  }
}
