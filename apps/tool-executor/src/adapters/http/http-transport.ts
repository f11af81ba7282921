import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { OutcomeUnknownError } from '../adapter-errors.js';
import { bareHostname, type ResolvedAddress } from './destination-guard.js';

/** One request to a vetted destination. */
export interface PinnedRequest {
  readonly url: URL;
  /** The addresses the guard vetted: the socket connects to these and nothing else. */
  readonly addresses: readonly ResolvedAddress[];
  readonly method: string;
  /** The request target as sent: path and query, already encoded. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly maxResponseBytes: number;
  readonly signal: AbortSignal;
  /** The call's timeout, for the message when `signal` aborts. */
  readonly timeoutMs: number;
  /** How the upstream is named in messages. */
  readonly label: string;
}

/** What came back. */
export type Exchange =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly body: Buffer;
    }
  | { readonly kind: 'too_large'; readonly status: number }
  /** The connection was never made: nothing was sent. */
  | { readonly kind: 'unreachable'; readonly detail: string };

/** A `lookup` that answers with the vetted addresses only, whatever DNS says now. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) {
      callback(
        null,
        addresses.map((a) => ({ address: a.address, family: a.family })),
      );
      return;
    }
    const first = addresses[0];
    if (first === undefined) callback(new Error('no vetted address'), '', 4);
    else callback(null, first.address, first.family);
  };
}

/**
 * Sends one request and reads the answer up to `maxResponseBytes`. Redirects are not followed
 * (the caller vets each hop). A failure before the connection is made returns `unreachable`; a
 * failure after it (the request may have arrived) or an abort throws {@link OutcomeUnknownError}.
 * A fresh socket per request (no agent): a pooled socket could be connected to another address.
 */
export function sendPinned(request: PinnedRequest): Promise<Exchange> {
  const { url } = request;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Exchange>((resolve, reject) => {
    let connected = false;
    let settled = false;
    const finish = (outcome: Exchange | Error) => {
      if (settled) return;
      settled = true;
      request.signal.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const req = send({
      protocol: url.protocol,
      hostname: bareHostname(url),
      port: url.port === '' ? undefined : Number(url.port),
      method: request.method,
      path: request.target,
      headers: {
        ...request.headers,
        ...(request.body ? { 'Content-Length': String(request.body.length) } : {}),
      },
      lookup: pinnedLookup(request.addresses),
      // SNI, the certificate check and Host use the name; only the socket uses the address.
      agent: false,
    });
    const onAbort = () => {
      req.destroy();
      finish(OutcomeUnknownError.timeout(request.label, request.timeoutMs));
    };
    if (request.signal.aborted) {
      req.destroy();
      finish({ kind: 'unreachable', detail: 'aborted before sending' });
      return;
    }
    request.signal.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket: Socket) => {
      const event = url.protocol === 'https:' ? 'secureConnect' : 'connect';
      if (!socket.connecting) connected = true;
      socket.once(event, () => {
        connected = true;
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      const detail = error.code ?? error.name;
      finish(
        connected
          ? OutcomeUnknownError.connectionLost(request.label, detail)
          : { kind: 'unreachable', detail },
      );
    });
    req.on('response', (response: IncomingMessage) => {
      readCapped(response, request.maxResponseBytes).then(
        (body) => {
          const status = response.statusCode ?? 0;
          finish(
            body === undefined
              ? { kind: 'too_large', status }
              : { kind: 'response', status, headers: response.headers, body },
          );
        },
        (error: unknown) => {
          const detail = (error as NodeJS.ErrnoException).code ?? 'response interrupted';
          finish(OutcomeUnknownError.connectionLost(request.label, detail));
        },
      );
    });
    req.end(request.body);
  });
}

/** Reads a body, or stops and returns `undefined` once it passes `maxBytes`. */
async function readCapped(
  response: IncomingMessage,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > maxBytes) {
      response.destroy();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
