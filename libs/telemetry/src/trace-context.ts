import {
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type SpanKind,
  context,
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';

/*
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) over a plain header carrier, so one run
 * is one trace across the agent, the services and the tools (DESIGN §9): the messaging lib puts
 * `traceparent` in NATS headers, the SDK in its publish, the executor in upstream HTTP calls.
 *
 * Written against `@opentelemetry/api` only, not the global propagator: the global one is a no-op
 * until an SDK registers one, and these helpers must behave the same in a CLI, a test or a service,
 * whatever OTEL_PROPAGATORS says.
 */

/** Header carrying the trace id, parent span id and sampling flag. Lower-case, as W3C writes it. */
export const TRACEPARENT_HEADER = 'traceparent';
/** Header carrying vendor-specific trace state; forwarded untouched when present. */
export const TRACESTATE_HEADER = 'tracestate';

/** Name under which Warden's own spans are created. */
export const TRACER_NAME = '@warden/telemetry';

/**
 * Where {@link injectTraceparent} writes: anything with `set(name, value)` (NATS `MsgHdrs`, `Map`,
 * fetch `Headers`) or a plain record of strings.
 */
export type HeaderCarrier = { set(name: string, value: string): unknown } | Record<string, string>;

/**
 * Where {@link extractContext} reads: a lookup function, anything with `get(name)` (NATS `MsgHdrs`,
 * which returns `''` for a missing header, `Map`, `Headers`; with `keys()` too, names are also
 * matched ignoring case) or a plain record.
 */
export type HeaderGetter =
  | ((name: string) => string | readonly string[] | null | undefined)
  | { get(name: string): string | readonly string[] | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

// version "00" has exactly four fields; later versions may append fields, which we ignore.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Formats a span context as a `traceparent` value, or `undefined` if the context is not valid. */
export function formatTraceparent(spanContext: SpanContext): string | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * Parses a `traceparent` value into a remote span context; `undefined` when it is missing or
 * malformed (an invalid header starts a new trace rather than failing the message).
 */
export function parseTraceparent(
  traceparent: string | null | undefined,
  tracestate?: string | null,
): SpanContext | undefined {
  const match = TRACEPARENT.exec(traceparent?.trim() ?? '');
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: traceId ?? '',
    spanId: spanId ?? '',
    traceFlags: Number.parseInt(flags ?? '00', 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

function isSpan(value: Context | Span): value is Span {
  return typeof (value as Partial<Span>).spanContext === 'function';
}

/**
 * The `traceparent` of a span, or of the span active in a context (default: the current one);
 * `undefined` when there is none, e.g. outside any span or before {@link startTelemetry}.
 */
export function currentTraceparent(from: Context | Span = context.active()): string | undefined {
  const spanContext = isSpan(from) ? from.spanContext() : trace.getSpanContext(from);
  return spanContext === undefined ? undefined : formatTraceparent(spanContext);
}

/**
 * Writes `traceparent` (and `tracestate`, when there is one) for the given span or context
 * (default: the current context) into an outgoing message's headers. Writes nothing when there is
 * no valid span, so a consumer then simply starts a new trace.
 *
 * @returns the `traceparent` written, if any.
 * @example
 * const headers = natsHeaders();
 * injectTraceparent(headers);
 * await js.publish(subject, payload, { headers });
 */
export function injectTraceparent(
  carrier: HeaderCarrier,
  from: Context | Span = context.active(),
): string | undefined {
  const spanContext = isSpan(from) ? from.spanContext() : trace.getSpanContext(from);
  if (spanContext === undefined) return undefined;
  const traceparent = formatTraceparent(spanContext);
  if (traceparent === undefined) return undefined;
  const tracestate = spanContext.traceState?.serialize();
  if (typeof carrier.set === 'function') {
    carrier.set(TRACEPARENT_HEADER, traceparent);
    if (tracestate) carrier.set(TRACESTATE_HEADER, tracestate);
  } else {
    const record = carrier as Record<string, string>;
    record[TRACEPARENT_HEADER] = traceparent;
    if (tracestate) record[TRACESTATE_HEADER] = tracestate;
  }
  return traceparent;
}

type HeaderValue = string | readonly string[] | null | undefined;
interface GetCarrier {
  get(name: string): HeaderValue;
  keys?: () => Iterable<string>;
}

function firstValue(value: HeaderValue): string | undefined {
  const first = typeof value === 'string' ? value : value?.[0];
  return first === undefined || first === '' ? undefined : first;
}

// Header names are matched exactly first, then ignoring case: NATS keeps whatever case the
// publisher wrote, and an SDK in another language (or an HTTP hop) may write `Traceparent`.
function readHeader(getter: HeaderGetter, name: string): string | undefined {
  if (typeof getter === 'function') return firstValue(getter(name));
  if (typeof getter.get === 'function') {
    const carrier = getter as GetCarrier;
    const exact = firstValue(carrier.get(name));
    if (exact !== undefined || typeof carrier.keys !== 'function') return exact;
    for (const key of carrier.keys()) {
      if (key.toLowerCase() === name) return firstValue(carrier.get(key));
    }
    return undefined;
  }
  const record = getter as Readonly<Record<string, HeaderValue>>;
  return firstValue(
    record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1],
  );
}

/**
 * Reads `traceparent`/`tracestate` from an incoming message's headers and returns a context whose
 * parent is that remote span, to pass as `parent` to {@link withSpan}. Without a valid header it
 * returns `base` unchanged.
 *
 * `base` defaults to the root context, not the active one: a message that carries no trace starts
 * a new one instead of becoming a child of whatever the consumer loop happens to be running in.
 *
 * @example
 * const parent = extractContext(msg.headers ?? {});
 * await withSpan('policy.decide', { parent, kind: SpanKind.CONSUMER }, () => handle(msg));
 */
export function extractContext(
  getter: HeaderGetter | undefined,
  base: Context = ROOT_CONTEXT,
): Context {
  // NATS messages without headers have `headers === undefined`.
  if (getter === undefined) return base;
  const spanContext = parseTraceparent(
    readHeader(getter, TRACEPARENT_HEADER),
    readHeader(getter, TRACESTATE_HEADER),
  );
  return spanContext === undefined ? base : trace.setSpanContext(base, spanContext);
}

/** Options of {@link withSpan}. */
export interface WithSpanOptions {
  /**
   * The parent: a context (from {@link extractContext}), a `traceparent` header value, or `null`
   * for a new trace. Default: the active context. A malformed `traceparent` starts a new trace.
   */
  parent?: Context | string | null;
  /** Attributes set at the start, so samplers can see them. */
  attributes?: Attributes;
  /** Default `INTERNAL`; `CONSUMER`/`PRODUCER` for message handling and publishing. */
  kind?: SpanKind;
}

function parentContextOf(parent: Context | string | null | undefined): Context {
  if (parent === undefined) return context.active();
  if (parent === null) return ROOT_CONTEXT;
  if (typeof parent === 'string') return extractContext({ [TRACEPARENT_HEADER]: parent });
  return parent;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<PromiseLike<unknown>>).then === 'function'
  );
}

function succeed(span: Span): void {
  // Leave a status set by `fn` (e.g. an expected rejection recorded as an error) alone. The SDK's
  // span exposes it; the API's interface does not, hence the structural read.
  const status = (span as { status?: { code?: SpanStatusCode } }).status;
  if (status?.code === undefined || status.code === SpanStatusCode.UNSET) {
    span.setStatus({ code: SpanStatusCode.OK });
  }
  span.end();
}

function fail(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
  span.end();
}

/**
 * Runs `fn` inside a new active span: the span is current for `fn` and everything it awaits (so
 * logs get its `trace_id` and {@link injectTraceparent} writes it), an exception is recorded with
 * status `ERROR` and rethrown, success sets `OK`, and the span always ends. `fn` may be sync or
 * async; the result is returned as is.
 *
 * @example
 * await withSpan('tool.execute', { parent: extractContext(headers), attributes: { 'warden.tool': tool } },
 *   async (span) => { span.setAttribute('warden.intent_id', intentId); return execute(); });
 */
export function withSpan<T>(name: string, options: WithSpanOptions, fn: (span: Span) => T): T {
  const tracer = trace.getTracer(TRACER_NAME);
  const spanOptions = {
    ...(options.kind === undefined ? {} : { kind: options.kind }),
    ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
  };
  return tracer.startActiveSpan(name, spanOptions, parentContextOf(options.parent), (span) => {
    let result: T;
    try {
      result = fn(span);
    } catch (error) {
      fail(span, error);
      throw error;
    }
    if (!isPromiseLike(result)) {
      succeed(span);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        succeed(span);
        return value;
      },
      (error: unknown) => {
        fail(span, error);
        throw error;
      },
    ) as T;
  });
}
