import { ProxyTracerProvider, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  createMemoryTransport,
  type ClientTransport,
  type ServerTransport,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { clientTracing, serverTracing } from '@tinyrpc/opentelemetry';
import { gate, tcpReachable } from '@tinyrpc/test-helpers';
import { HttpClientTransport, HttpServerTransport } from '@tinyrpc/transport-http';
import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryTelemetry, kindOf } from './tracing.ts';

const telemetry = inMemoryTelemetry();
const { spans, meterProvider, metrics, reader } = telemetry;
afterAll(async () => {
  await meterProvider.shutdown();
});
beforeEach(() => {
  spans.reset();
});

const dispatcher = (): RpcDispatcher =>
  new RpcDispatcher()
    .add('add', (a: number, b: number) => {
      // A span the method makes is a child of the server's span.
      trace.getTracer('app').startActiveSpan('inside add', (span) => {
        span.end();
      });
      return a + b;
    })
    .add('fail', () => {
      throw new RpcError('Out of stock', { code: 4001 });
    });

interface Setup {
  readonly name: string;
  readonly start: () => Promise<{ server: ServerTransport; client: () => ClientTransport }>;
  /** Clients on connections must be allowed to carry the trace context in the message. */
  readonly messageMeta: boolean;
}

const amqp = 'amqp://guest:guest@127.0.0.1:5672';
const broker = gate('RabbitMQ at 127.0.0.1:5672', await tcpReachable('127.0.0.1', 5672));

const setups: Setup[] = [
  {
    name: 'HTTP (request headers)',
    messageMeta: false,
    start: () => {
      const server = new HttpServerTransport({ port: 0 });
      return Promise.resolve({
        server,
        client: () => new HttpClientTransport(server.url as string),
      });
    },
  },
  ...(broker
    ? [
        {
          name: 'RabbitMQ (message headers)',
          messageMeta: false,
          start: () => {
            // An auto-deleted queue of its own: gone once the server's consumer is.
            const queue = `tinyrpc-test-otel-${randomBytes(6).toString('hex')}`;
            return Promise.resolve({
              server: new RabbitMqServerTransport({
                url: amqp,
                queue,
                queueOptions: { autoDelete: true },
              }),
              client: () => new RabbitMqClientTransport({ url: amqp, routingKey: queue }),
            });
          },
        },
      ]
    : []),
  {
    name: 'memory (request/reply, no headers)',
    messageMeta: true,
    start: () => {
      const pair = createMemoryTransport();
      return Promise.resolve({ server: pair.server, client: () => pair.client });
    },
  },
  {
    name: 'WebSocket (a connection: the context travels as $meta)',
    messageMeta: true,
    start: () => {
      const server = new WsServerTransport({ port: 0 });
      return Promise.resolve({
        server,
        client: () => new WsClientTransport(`ws://127.0.0.1:${String(server.port)}`),
      });
    },
  },
];

const byName = (name: string): ReadableSpan[] =>
  spans.getFinishedSpans().filter((span) => span.name === name);

describe.each(setups)('tracing over $name', ({ start, messageMeta }) => {
  it('makes the server span the child of the client span, in one trace', async () => {
    const { server: serverTransport, client: connect } = await start();
    const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher());
    server.use(serverTracing());
    await server.serve();
    const client = new RpcClient(new JsonRpcProtocol(), connect(), { messageMeta });
    client.use(clientTracing());
    try {
      expect(await client.call('add', [1, 2])).toBe(3);
      await expect(client.call('fail')).rejects.toMatchObject({ code: 4001 });
    } finally {
      await client.close();
      await server.close();
    }
    const [clientSpan] = byName('add').filter((s) => kindOf(s) === 'CLIENT');
    const [serverSpan] = byName('add').filter((s) => kindOf(s) === 'SERVER');
    const [inner] = byName('inside add');
    expect(clientSpan?.attributes).toMatchObject({
      'rpc.system': 'jsonrpc',
      'rpc.method': 'add',
      'rpc.jsonrpc.version': '2.0',
      'rpc.jsonrpc.request_id': '1',
    });
    expect(serverSpan?.attributes).toMatchObject({
      'rpc.method': 'add',
      'rpc.jsonrpc.request_id': '1',
    });
    expect(serverSpan?.spanContext().traceId).toBe(clientSpan?.spanContext().traceId);
    expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
    expect(inner?.parentSpanContext?.spanId).toBe(serverSpan?.spanContext().spanId);

    const failed = byName('fail');
    expect(failed).toHaveLength(2);
    for (const span of failed) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes).toMatchObject({
        'rpc.jsonrpc.error_code': 4001,
        'rpc.jsonrpc.error_message': 'Out of stock',
      });
    }
  });
});

describe('call durations', () => {
  it('are recorded per side in a histogram with the call attributes', async () => {
    const { client: clientTransport, server: serverTransport } = createMemoryTransport();
    const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher());
    server.use(serverTracing({ meterProvider }));
    await server.serve();
    const client = new RpcClient(new JsonRpcProtocol(), clientTransport).use(
      clientTracing({ meterProvider }),
    );
    await client.call('add', [2, 2]);
    await client.call('add', [3, 3]);
    await server.close();
    await reader.forceFlush();
    const exported =
      metrics
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
    for (const side of ['client', 'server']) {
      const histogram = exported.find((m) => m.descriptor.name === `rpc.${side}.duration`);
      expect(histogram?.descriptor.unit).toBe('ms');
      const point = histogram?.dataPoints.find((p) => p.attributes['rpc.method'] === 'add');
      expect((point?.value as { count: number } | undefined)?.count).toBe(2);
    }
  });
});

describe('with no SDK behind the API', () => {
  it('answers calls as without tracing, and records no span', async () => {
    const { client: clientTransport, server: serverTransport } = createMemoryTransport();
    const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher());
    // A provider with no delegate: the API's no-op tracer, as in an application without the SDK.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the API's own no-op, for the test
    server.use(serverTracing({ tracerProvider: new ProxyTracerProvider() }));
    await server.serve();
    const client = new RpcClient(new JsonRpcProtocol(), clientTransport);
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- as above
    client.use(clientTracing({ tracerProvider: new ProxyTracerProvider() }));
    expect(await client.call('add', [2, 3])).toBe(5);
    await expect(client.call('fail')).rejects.toMatchObject({ code: 4001 });
    await server.close();
    expect(byName('add').filter((s) => kindOf(s) !== 'INTERNAL')).toEqual([]);
  });
});

describe('without messageMeta on a connection', () => {
  it('sends nothing extra, so the server starts a trace of its own', async () => {
    const serverTransport = new WsServerTransport({ port: 0 });
    const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher());
    server.use(serverTracing());
    await server.serve();
    const client = new RpcClient(
      new JsonRpcProtocol(),
      new WsClientTransport(`ws://127.0.0.1:${String(serverTransport.port)}`),
    ).use(clientTracing());
    await client.call('add', [1, 1]);
    await client.close();
    await server.close();
    const [clientSpan] = byName('add').filter((s) => kindOf(s) === 'CLIENT');
    const [serverSpan] = byName('add').filter((s) => kindOf(s) === 'SERVER');
    expect(serverSpan?.spanContext().traceId).not.toBe(clientSpan?.spanContext().traceId);
    expect(serverSpan?.parentSpanContext).toBeUndefined();
  });
});
