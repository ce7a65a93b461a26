// Streamed results (issue 15): items per second of ~1 KB JSON objects, our `client.stream()` from
// an `async function*` handler against a raw server pushing the same JSON messages (raw `ws` over
// WebSocket, NDJSON on node:net over TCP, an NDJSON node:http body read with fetch over HTTP), all
// pacing themselves by the socket's buffer; then the
// memory of this process (server and client, both here) while a consumer 100× slower than the
// producer takes items, which credit-based backpressure should keep flat. The slow consumer runs
// for a bounded time, not for all 100,000 items. Runs only when named: `bench streams`.
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RpcClient, RpcDispatcher, RpcServer, type Connection } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpClientTransport, HttpServerTransport } from '@tinyrpc/transport-http';
import { StreamClientTransport, StreamServerTransport } from '@tinyrpc/transport-stream';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { durationMs, type Result, type Scenario } from '../measure.ts';

const protocol = new JsonRpcProtocol();
const filler = 'x'.repeat(960);
/** One item: a JSON object of about 1 KB. */
const item = (index: number): object => ({ index, kind: 'reading', at: 1764590000000, filler });
/** Items per measured round; each round is also bounded in time. */
const itemsPerRound = Math.max(5000, Math.round(5 * durationMs));
const roundBound = 20_000;
const rounds = 3;
/** Items the slow consumer may take, and the time it may take them in. */
const slowItems = 100_000;
// BENCH_SLOW_SECONDS lets it run long enough for all 100,000 (about 80 s per transport).
const slowBound =
  Number(process.env['BENCH_SLOW_SECONDS'] ?? 0) * 1000 || Math.max(5000, 2.5 * durationMs);
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

// A full collection on demand, so that the live heap can be told from GC's sawtooth.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

interface Pusher {
  /** Takes `count` items; resolves when the last arrived. */
  take(count: number): Promise<void>;
  stop(): Promise<void>;
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`not done within ${String(ms)} ms`));
      }, ms);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
};

// Raw ws: on "n", the server sends n items, waiting while more than 1 MiB is buffered.
async function rawWs(): Promise<Pusher> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => {
      const count = Number(data.toString());
      void (async () => {
        for (let i = 0; i < count; i++) {
          socket.send(JSON.stringify(item(i)));
          if (socket.bufferedAmount > 2 ** 20) {
            while (socket.bufferedAmount > 2 ** 19 && socket.readyState === socket.OPEN)
              await sleep(1);
          }
        }
      })();
    });
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const ws = new WebSocket(`ws://127.0.0.1:${String(port)}`, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once('open', resolve));
  let waiting: { left: number; done: () => void } | undefined;
  ws.on('message', (data: Buffer) => {
    JSON.parse(data.toString());
    if (waiting !== undefined && --waiting.left === 0) waiting.done();
  });
  return {
    take: (count) =>
      new Promise((resolve) => {
        waiting = { left: count, done: resolve };
        ws.send(String(count));
      }),
    async stop() {
      ws.terminate();
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => {
        server.close(resolve);
      });
    },
  };
}

// Raw node:net: on a line "n", the server writes n NDJSON items, waiting for 'drain' when asked.
async function rawNet(): Promise<Pusher> {
  const server: Server = createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (line: string) => {
      const count = Number(line.trim());
      void (async () => {
        for (let i = 0; i < count; i++) {
          if (!socket.write(`${JSON.stringify(item(i))}\n`))
            await new Promise((resolve) => socket.once('drain', resolve));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket: Socket = connect({
    port: (server.address() as AddressInfo).port,
    host: '127.0.0.1',
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setEncoding('utf8');
  let buffered = '';
  let waiting: { left: number; done: () => void } | undefined;
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) !== -1) {
      JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      if (waiting !== undefined && --waiting.left === 0) waiting.done();
    }
  });
  return {
    take: (count) =>
      new Promise((resolve) => {
        waiting = { left: count, done: resolve };
        socket.write(`${String(count)}\n`);
      }),
    async stop() {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// Raw node:http: a POST of "n" is answered with n NDJSON items, waiting for 'drain' when asked;
// the client reads the body with fetch, as HttpClientTransport does.
async function rawHttp(): Promise<Pusher> {
  const server = createHttpServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const count = Number(body);
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      void (async () => {
        for (let i = 0; i < count; i++) {
          if (!response.write(`${JSON.stringify(item(i))}\n`))
            await new Promise((resolve) => response.once('drain', resolve));
        }
        response.end();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
  const decoder = new TextDecoder();
  return {
    async take(count) {
      const response = await fetch(url, { method: 'POST', body: String(count) });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let buffered = '';
      let taken = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n')) !== -1) {
          JSON.parse(buffered.slice(0, end));
          buffered = buffered.slice(end + 1);
          taken++;
        }
      }
      if (taken !== count) throw new Error(`took ${String(taken)} of ${String(count)} items`);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Tiny extends Pusher {
  readonly client: RpcClient;
  /** The same client, taking with a window of `highWaterMark` items. */
  windowed(highWaterMark: number): Pusher;
}

async function tinyrpc(kind: Kind): Promise<Tiny> {
  const dispatcher = new RpcDispatcher().add('items', async function* (count: number) {
    for (let i = 0; i < count; i++) yield item(i);
  });
  let connection: Connection | HttpClientTransport;
  let server: RpcServer;
  if (kind === 'HTTP') {
    const transport = new HttpServerTransport({ port: 0 });
    server = new RpcServer(transport, protocol, dispatcher);
    await server.serve();
    connection = new HttpClientTransport(transport.url as string);
  } else if (kind === 'WebSocket') {
    const transport = new WsServerTransport({ port: 0 });
    server = new RpcServer(transport, protocol, dispatcher);
    await server.serve();
    const client = new WsClientTransport(`ws://127.0.0.1:${String(transport.port)}/`);
    await client.connect();
    connection = client;
  } else {
    const transport = new StreamServerTransport({ port: 0 });
    server = new RpcServer(transport, protocol, dispatcher);
    await server.serve();
    connection = await StreamClientTransport.connect({
      port: (transport.address as AddressInfo).port,
    });
  }
  const client = new RpcClient(protocol, connection);
  const take = async (count: number, highWaterMark?: number): Promise<void> => {
    let taken = 0;
    const options = highWaterMark === undefined ? {} : { highWaterMark };
    for await (const got of client.stream('items', [count], options))
      if (got !== undefined) taken++;
    if (taken !== count) throw new Error(`took ${String(taken)} of ${String(count)} items`);
  };
  return {
    client,
    take: (count) => take(count),
    windowed: (highWaterMark) => ({
      take: (count) => take(count, highWaterMark),
      stop: async () => undefined,
    }),
    async stop() {
      await client.close();
      await server.close();
    },
  };
}

// Rounds taking turns; each contender's median round, in items per second.
async function throughput(contenders: [string, Pusher][]): Promise<Result[]> {
  const rates: number[][] = contenders.map(() => []);
  // One full round each first, not measured: short rounds otherwise time the JIT's warm-up.
  for (const pusher of contenders.map(([, p]) => p))
    await within(pusher.take(itemsPerRound), roundBound);
  for (let round = 0; round < rounds; round++) {
    for (const [index, [, pusher]] of contenders.entries()) {
      const started = performance.now();
      await within(pusher.take(itemsPerRound), roundBound);
      rates[index]?.push(itemsPerRound / ((performance.now() - started) / 1000));
    }
  }
  return contenders.map(([name], index) => {
    const sorted = [...(rates[index] ?? [])].sort((a, b) => a - b);
    return { name, opsPerSecond: sorted[Math.floor(sorted.length / 2)] ?? 0 };
  });
}

// A consumer 100× slower than `fastRate` items/s takes items for at most `slowBound` ms, while
// the memory of this process is sampled every 50 ms.
async function slowConsumer(title: string, tiny: Tiny, fastRate: number): Promise<void> {
  const perItem = (100 * 1000) / fastRate; // ms
  const samples: { heap: number; rss: number }[] = [];
  const sample = (): void => {
    const { heapUsed, rss } = process.memoryUsage();
    samples.push({ heap: heapUsed, rss });
  };
  const live: number[] = [];
  const sampleLive = (): void => {
    collect();
    live.push(process.memoryUsage().heapUsed);
  };
  sampleLive();
  sample();
  const sampler = setInterval(sample, 50);
  const liveSampler = setInterval(sampleLive, 500);
  const started = performance.now();
  let taken = 0;
  let owed = 0;
  try {
    for await (const got of tiny.client.stream('items', [slowItems])) {
      if (got !== undefined) taken++;
      owed += perItem;
      if (owed >= 2) {
        const before = performance.now();
        await sleep(owed);
        owed -= performance.now() - before;
      }
      if (taken >= slowItems || performance.now() - started >= slowBound) break;
    }
  } finally {
    clearInterval(sampler);
    clearInterval(liveSampler);
  }
  sample();
  sampleLive();
  const seconds = (performance.now() - started) / 1000;
  const heaps = samples.map((s) => s.heap);
  const rsss = samples.map((s) => s.rss);
  const range = (values: number[]): string =>
    `${mib(Math.min(...values))}–${mib(Math.max(...values))}`;
  // Growth shows as a higher peak in the second half than in the first; GC's sawtooth does not.
  const half = Math.floor(heaps.length / 2);
  console.log(
    `| ${title} | ${perItem.toFixed(3)} | ${taken.toLocaleString('en-US')} in ${seconds.toFixed(1)} s${taken < slowItems ? ' (time bound)' : ''} | ${range(heaps)} | ${mib(Math.max(...heaps.slice(0, half)))} / ${mib(Math.max(...heaps.slice(half)))} | ${range(live)} | ${range(rsss)} | ${String(samples.length)} |`,
  );
}

/** Each transport's measured stream rate, for the slow consumer's pace. */
const fastRates = new Map<string, number>();
type Kind = 'WebSocket' | 'TCP stream' | 'HTTP';

const rawNames: Record<Kind, string> = {
  WebSocket: 'raw ws server push',
  'TCP stream': 'raw node:net NDJSON push',
  HTTP: 'raw node:http NDJSON body, read with fetch',
};

const scenario = (transport: Kind): Scenario => {
  const raw = rawNames[transport];
  return {
    name: `${transport}: ~1 KB JSON items per second, ${itemsPerRound.toLocaleString('en-US')} items a round, ${String(rounds)} rounds`,
    baseline: raw,
    async run() {
      const ws = transport === 'WebSocket';
      const pusher = transport === 'HTTP' ? await rawHttp() : ws ? await rawWs() : await rawNet();
      // The goal for both transports is against the raw ws push: TCP shows it too.
      const wsPusher = transport === 'TCP stream' ? await rawWs() : undefined;
      const tiny = await tinyrpc(transport);
      try {
        const results = await throughput([
          [raw, pusher],
          ['client.stream() ← async function* (highWaterMark 64, default)', tiny],
          ['client.stream(), highWaterMark 256', tiny.windowed(256)],
          ...(wsPusher === undefined ? [] : [['raw ws server push', wsPusher] as [string, Pusher]]),
        ]);
        fastRates.set(transport, results[1]?.opsPerSecond ?? 1000);
        return results;
      } finally {
        await tiny.stop();
        await pusher.stop();
        await wsPusher?.stop();
      }
    },
  };
};

const slow: Scenario = {
  name: 'Slow consumer',
  baseline: '',
  async run() {
    console.log(
      `\n## Slow consumer, 100× slower than the default stream's measured rate: memory of this process (server and client), sampled every 50 ms, at most ${String(slowBound / 1000)} s or ${slowItems.toLocaleString('en-US')} items\n`,
    );
    console.log(
      '| transport | ms per item | items taken | heapUsed MiB range | heapUsed peak MiB, 1st / 2nd half | heapUsed after full GC, every 0.5 s, MiB range | rss MiB range | samples |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const transport of ['WebSocket', 'TCP stream'] as const) {
      const tiny = await tinyrpc(transport);
      try {
        await slowConsumer(transport, tiny, fastRates.get(transport) ?? 1000);
      } finally {
        await tiny.stop();
      }
    }
    return [];
  },
};

export const scenarios: Scenario[] = [
  scenario('WebSocket'),
  scenario('TCP stream'),
  scenario('HTTP'),
  slow,
];

/** Slow (a bounded slow consumer per transport): run only by name. */
export const byNameOnly = true;
