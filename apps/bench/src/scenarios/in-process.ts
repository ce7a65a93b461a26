// In-process request handling: request text in, response text out, no transport. Every contender
// is awaited once per call, as a server would run it.
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { RpcDispatcher, RpcServer, type ServerTransport } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { serverTracing } from '@tinyrpc/opentelemetry';
import jayson from 'jayson';
import { JSONRPCServer } from 'json-rpc-2.0';
import { durationMs, measure, type Result, type Scenario } from '../measure.ts';

const add = (a: number, b: number): number => a + b;
const echo = (value: string): string => value;

function contenders(method: 'add' | 'echo', params: unknown[]): [string, () => unknown][] {
  // Request texts are made before timing starts, so only their handling is measured.
  const texts = Array.from({ length: 1024 }, (_, i) =>
    JSON.stringify({ jsonrpc: '2.0', method, params, id: i + 1 }),
  );
  let next = 0;
  const request = (): string => texts[next++ & 1023] as string;

  const raw = async (text: string): Promise<string> => {
    const r = JSON.parse(text) as { id: number; method: string; params: [never, never] };
    const fn = r.method === 'add' ? add : echo;
    return JSON.stringify({ jsonrpc: '2.0', id: r.id, result: fn(...r.params) });
  };

  const dispatcher = new RpcDispatcher().add('add', add).add('echo', echo);
  const unused: ServerTransport = {
    specificationVersion: 1,
    listen: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const tinyrpc = new RpcServer(unused, new JsonRpcProtocol(), dispatcher);
  const withInterceptor = new RpcServer(unused, new JsonRpcProtocol(), dispatcher).use(
    (_call, next) => next(),
  );
  // No OpenTelemetry SDK is registered: the API's no-op tracer, what tracing costs before export.
  const withTracing = new RpcServer(unused, new JsonRpcProtocol(), dispatcher).use(serverTracing());
  // An SDK whose sampler drops every span: what tracing costs for the calls a sampler leaves out.
  // Given to the interceptor rather than registered, so the contender above keeps having no SDK.
  const unsampled = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
  const withUnsampledTracing = new RpcServer(unused, new JsonRpcProtocol(), dispatcher).use(
    serverTracing({ tracerProvider: unsampled }),
  );

  const jaysonServer = new jayson.Server({
    add: (args: [number, number], done: (e: null, r: number) => void) => {
      done(null, add(...args));
    },
    echo: (args: [string], done: (e: null, r: string) => void) => {
      done(null, echo(...args));
    },
  });
  const viaJayson = (text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      jaysonServer.call(text, (error: unknown, success: unknown) => {
        if (error) reject(new Error(JSON.stringify(error)));
        else resolve(JSON.stringify(success));
      });
    });

  // jayson's own synchronous path, as its users call it: its callback runs before `call` returns,
  // no promise involved. The promise-wrapped contender above is kept to show what a wrapper costs.
  const viaJaysonSync = (text: string): string => {
    let reply = '';
    jaysonServer.call(text, (_error: unknown, success: unknown) => {
      reply = JSON.stringify(success);
    });
    return reply;
  };

  const jsonRpc2 = new JSONRPCServer();
  jsonRpc2.addMethod('add', (p: [number, number]) => add(...p));
  jsonRpc2.addMethod('echo', (p: [string]) => echo(...p));
  const viaJsonRpc2 = async (text: string): Promise<string> =>
    JSON.stringify(await jsonRpc2.receiveJSON(text));

  return [
    ['raw JSON.parse/call/JSON.stringify', () => raw(request())],
    ['@tinyrpc/jsonrpc + RpcServer', () => tinyrpc.handle(request())],
    ['RpcServer + one no-op interceptor', () => withInterceptor.handle(request())],
    ['RpcServer + serverTracing(), no SDK', () => withTracing.handle(request())],
    ['RpcServer + serverTracing(), SDK, not sampled', () => withUnsampledTracing.handle(request())],
    ['jayson (promise-wrapped)', () => viaJayson(request())],
    ['jayson (synchronous callback)', () => viaJaysonSync(request())],
    ['json-rpc-2.0', () => viaJsonRpc2(request())],
  ];
}

// The machine these figures come from is shared, and its load drifts within seconds: measured one
// after the other, contenders would be compared under different loads. So each contender runs in
// several short rounds, the contenders take turns (starting with a different one each round), and
// each one's result is its median round. The work never waits, so it is timed in CPU seconds,
// which other load on the machine moves far less than wall-clock seconds.
const rounds = 10;

const scenario = (title: string, method: 'add' | 'echo', params: unknown[]): Scenario => ({
  name: title,
  baseline: 'raw JSON.parse/call/JSON.stringify',
  async run() {
    const list = contenders(method, params).map(([name, operation]) => ({
      name,
      operation,
      samples: [] as Result[],
    }));
    const duration = Math.max(200, durationMs / rounds);
    for (let round = 0; round < rounds; round++) {
      for (const [turn] of list.entries()) {
        const contender = list[(round + turn) % list.length] as (typeof list)[number];
        contender.samples.push(
          await measure(contender.name, contender.operation, { duration, clock: 'cpu' }),
        );
      }
    }
    return list.map(({ samples }) => median(samples));
  },
});

function median(results: readonly Result[]): Result {
  const sorted = [...results].sort((a, b) => a.opsPerSecond - b.opsPerSecond);
  return sorted[Math.floor(sorted.length / 2)] as Result;
}

export const scenarios: Scenario[] = [
  scenario('in-process JSON-RPC, small call add(1, 2)', 'add', [1, 2]),
  scenario('in-process JSON-RPC, 1 KB payload echo', 'echo', ['x'.repeat(1024)]),
];
