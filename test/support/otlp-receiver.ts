/**
 * A local OTLP/HTTP traces receiver for tests and benchmarks: `POST /v1/traces` on 127.0.0.1
 * (random free port) with the JSON encoding of ExportTraceServiceRequest, as
 * @opentelemetry/exporter-trace-otlp-http sends it. Spans are decoded into plain objects: ids in
 * hex, times in milliseconds, attributes flattened. A protobuf body is refused with 415.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AttributeValue = string | number | boolean | AttributeValue[] | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  /** The resource's attributes (service.name, …). */
  resource: Record<string, AttributeValue>;
  scope: string;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>/v1/traces` */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Export requests received, with their headers. */
  requests: { headers: Record<string, string | string[] | undefined>; spans: number }[];
  /** The next `times` exports are answered with this HTTP status. */
  failNext(status: number, times?: number): void;
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
}

interface ExportTraceServiceRequest {
  resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[];
}

function attributeValue(value: OtlpAnyValue | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(attributeValue);
  return null;
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const item of list ?? []) out[item.key] = attributeValue(item.value);
  return out;
}

/** Nanoseconds since the epoch (a decimal string in JSON) as milliseconds. */
function millis(nanos: string | number): number {
  return Number(BigInt(nanos) / 1000n) / 1000;
}

/** A span id as hex: the JSON encoding uses hex, but base64 is accepted too. */
function hexId(id: string | undefined, length: number): string {
  if (!id) return '';
  if (new RegExp(`^[0-9a-f]{${length}}$`, 'u').test(id)) return id;
  return Buffer.from(id, 'base64').toString('hex');
}

export function decodeTraces(body: ExportTraceServiceRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of body.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: hexId(span.traceId, 32),
          spanId: hexId(span.spanId, 16),
          parentSpanId: hexId(span.parentSpanId, 16),
          name: span.name,
          kind: span.kind ?? 0,
          startMs: millis(span.startTimeUnixNano),
          endMs: millis(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          statusCode: span.status?.code ?? 0,
          statusMessage: span.status?.message ?? '',
          resource,
          scope: scopeSpans.scope?.name ?? '',
        });
      }
    }
  }
  return spans;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const failures: number[] = [];

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
        response.writeHead(415, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'this receiver takes the JSON encoding' }));
        return;
      }
      const failure = failures.shift();
      if (failure !== undefined) {
        response.writeHead(failure, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      let decoded: ReceivedSpan[];
      try {
        decoded = decodeTraces(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportTraceServiceRequest);
      } catch (error) {
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(error) }));
        return;
      }
      spans.push(...decoded);
      requests.push({ headers: request.headers, spans: decoded.length });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    requests,
    failNext(status, times = 1) {
      for (let i = 0; i < times; i++) failures.push(status);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
