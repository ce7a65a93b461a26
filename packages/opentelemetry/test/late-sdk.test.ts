// The interceptors skip their work while the API has only its no-op tracer and meter. These tests
// make them first, with nothing registered (this file runs in a process of its own), then register
// the SDK, as an application that sets up telemetry after its server may do; and they check a
// tracer whose sampler drops every span.
import { context, metrics, propagation, trace, type Context } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  RpcClient,
  RpcDispatcher,
  RpcServer,
  createMemoryTransport,
  type ServerCall,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { clientTracing, serverTracing } from '@tinyrpc/opentelemetry';
import { describe, expect, it } from 'vitest';
import { inMemoryTelemetry, kindOf } from './tracing.ts';

/** A client and server over memory, with tracing on both, and what the server's calls carried. */
async function start(options: { tracerProvider?: BasicTracerProvider } = {}) {
  const seen: { headers: ServerCall['headers']; active: Context }[] = [];
  const dispatcher = new RpcDispatcher().add('add', (a: number, b: number) => a + b);
  const { client: clientTransport, server: serverTransport } = createMemoryTransport();
  const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher)
    .use((call, next) => {
      // Outside serverTracing: what the caller sent.
      seen.push({ headers: { ...call.headers }, active: context.active() });
      return next();
    })
    .use(serverTracing(options))
    .use((_call, next) => {
      // Inside serverTracing: the context the method runs in.
      (seen.at(-1) as { active: Context }).active = context.active();
      return next();
    });
  await server.serve();
  const client = new RpcClient(new JsonRpcProtocol(), clientTransport, { messageMeta: true }).use(
    clientTracing(options),
  );
  return { client, server, seen };
}

describe('with no SDK when the interceptors were made', () => {
  it('calls go through untouched, and are traced and measured once the SDK is registered', async () => {
    // Nothing registered yet: the interceptors start idle.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
    expect(propagation.fields()).toEqual([]);
    const { client, server, seen } = await start();
    try {
      expect(await client.call('add', [1, 2])).toBe(3);
      expect(seen[0]?.headers).toEqual({});

      const { spans, meterProvider, metrics: exported, reader } = inMemoryTelemetry();
      metrics.setGlobalMeterProvider(meterProvider);
      expect(await client.call('add', [2, 3])).toBe(5);

      const finished = spans.getFinishedSpans();
      expect(finished.map(kindOf).sort()).toEqual(['CLIENT', 'SERVER']);
      const clientSpan = finished.find((s) => kindOf(s) === 'CLIENT');
      const serverSpan = finished.find((s) => kindOf(s) === 'SERVER');
      expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
      expect(serverSpan?.attributes).toMatchObject({ 'rpc.method': 'add' });
      expect(seen[1]?.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(trace.getSpanContext(seen[1]?.active as Context)?.spanId).toBe(
        serverSpan?.spanContext().spanId,
      );

      await reader.forceFlush();
      const names =
        exported
          .getMetrics()
          .at(-1)
          ?.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)) ?? [];
      expect(names.sort()).toEqual(['rpc.client.duration', 'rpc.server.duration']);
      await meterProvider.shutdown();
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('a tracer that samples nothing', () => {
  it('records no span, and still carries the trace on, marked not sampled', async () => {
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({
      sampler: new AlwaysOffSampler(),
      spanProcessors: [new SimpleSpanProcessor(spans)],
    });
    const { client, server, seen } = await start({ tracerProvider });
    try {
      expect(propagation.fields()).toContain('traceparent'); // registered by the test above
      expect(await client.call('add', [1, 2])).toBe(3);
      expect(spans.getFinishedSpans()).toEqual([]);
      const traceparent = seen[0]?.headers['traceparent'];
      expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      // The method runs in the server's (unsampled) span, a child in the caller's trace.
      const inside = trace.getSpanContext(seen[0]?.active as Context);
      expect(inside?.traceId).toBe((traceparent as string).split('-')[1]);
      expect(inside?.spanId).not.toBe((traceparent as string).split('-')[2]);
      expect(inside?.traceFlags).toBe(0);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
