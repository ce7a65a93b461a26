// JSON-RPC over HTTP with keep-alive: add(1, 2) at concurrency 1 and 64.
//
// Each server runs in a child process of its own (this same file, started with
// TINYRPC_BENCH_HTTP_SERVER naming the contender), so it has a core to itself rather than sharing
// the event loop with the load generator. One load generator drives every contender: an undici
// Pool with one keep-alive connection per concurrent caller, posting ready-made JSON-RPC request
// texts and reading every answer in full. Contenders are measured in interleaved rounds
// (BENCH_HTTP_ROUNDS, default 3), each round starting with another contender, and the best round
// of each is reported, which damps the noise of a shared machine. Each server's CPU time per
// request is printed too: a busy machine changes it less than it changes throughput and latency.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpServerTransport } from '@tinyrpc/transport-http';
import jayson from 'jayson';
import { Pool } from 'undici';
import { measure, type Result, type Scenario } from '../measure.ts';

const serverVariable = 'TINYRPC_BENCH_HTTP_SERVER';
const add = (a: number, b: number): number => a + b;

const contenders = {
  'raw node:http JSON.parse/call/JSON.stringify': startRaw,
  '@tinyrpc/transport-http + RpcServer': startTinyrpc,
  'jayson http': startJayson,
} as const;
type Contender = keyof typeof contenders;

// The limit: read the body, JSON.parse, call, JSON.stringify, answer.
async function startRaw(): Promise<number> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        id: number;
        params: [number, number];
      };
      const text = JSON.stringify({ jsonrpc: '2.0', id: call.id, result: add(...call.params) });
      response.setHeader('content-type', 'application/json');
      response.end(text);
    });
  });
  return listen(server);
}

async function startTinyrpc(): Promise<number> {
  const transport = new HttpServerTransport({ port: 0 });
  const dispatcher = new RpcDispatcher().add('add', add);
  await new RpcServer(transport, new JsonRpcProtocol(), dispatcher).serve();
  return transport.port as number;
}

async function startJayson(): Promise<number> {
  const server = new jayson.Server({
    add: (args: [number, number], done: (e: null, r: number) => void) => {
      done(null, add(...args));
    },
  });
  return listen(server.http());
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
}

// In the child: start the named server and report its port to the parent.
const serving = process.env[serverVariable] as Contender | undefined;
if (serving !== undefined) {
  const port = await contenders[serving]();
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpu: user + system });
  });
  process.send?.({ port });
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
}

async function startChild(name: Contender): Promise<Running> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [serverVariable]: name },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not start within 20 s`));
    }, 20_000);
    child.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${String(code)}`));
    });
  });
  return { child, port };
}

async function stopChild({ child }: Running): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

// Request texts are made before timing starts, so only the exchange is measured.
const texts = Array.from({ length: 1024 }, (_, i) =>
  JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [1, 2], id: i + 1 }),
);
const headers = { 'content-type': 'application/json' };

// Microseconds of CPU the child has used so far.
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message: { cpu: number }) => {
      resolve(message.cpu);
    });
    child.send('cpu');
  });
}

interface Measured {
  readonly result: Result;
  /** Server CPU microseconds per request. */
  readonly cpu: number;
}

async function bench(name: Contender, running: Running, concurrency: number): Promise<Measured> {
  const { port, child } = running;
  const pool = new Pool(`http://127.0.0.1:${String(port)}`, {
    connections: concurrency,
    pipelining: 1,
  });
  let next = 0;
  let count = 0;
  const operation = async (): Promise<void> => {
    const response = await pool.request({
      path: '/',
      method: 'POST',
      headers,
      body: texts[next++ & 1023],
    });
    const text = await response.body.text();
    if (response.statusCode !== 200 || !text.includes('"result":3')) {
      throw new Error(`${name} answered ${String(response.statusCode)}: ${text}`);
    }
    count++;
  };
  try {
    const before = await cpuOf(child);
    const result = await measure(name, operation, { concurrency, latencies: true });
    return { result, cpu: ((await cpuOf(child)) - before) / count };
  } finally {
    await pool.close();
  }
}

const rounds = Number(process.env['BENCH_HTTP_ROUNDS'] ?? '3');

const scenario = (concurrency: number): Scenario => ({
  name: `JSON-RPC over HTTP, keep-alive, add(1, 2), concurrency ${String(concurrency)}`,
  baseline: 'raw node:http JSON.parse/call/JSON.stringify',
  async run() {
    const names = Object.keys(contenders) as Contender[];
    const running = new Map<Contender, Running>();
    const best = new Map<Contender, Measured>();
    try {
      for (const name of names) running.set(name, await startChild(name));
      for (let round = 0; round < rounds; round++) {
        // Each round starts with the next contender, so none is always first or last.
        const order = [
          ...names.slice(round % names.length),
          ...names.slice(0, round % names.length),
        ];
        for (const name of order) {
          const measured = await bench(name, running.get(name) as Running, concurrency);
          const previous = best.get(name);
          if (
            previous === undefined ||
            measured.result.opsPerSecond > previous.result.opsPerSecond
          ) {
            best.set(name, {
              result: measured.result,
              cpu: Math.min(measured.cpu, previous?.cpu ?? Infinity),
            });
          } else {
            best.set(name, { ...previous, cpu: Math.min(measured.cpu, previous.cpu) });
          }
        }
      }
    } finally {
      await Promise.all([...running.values()].map(stopChild));
    }
    const baseline = (best.get(names[0] as Contender) as Measured).cpu;
    console.log(
      `\nserver CPU per request, concurrency ${String(concurrency)} (least of ${String(rounds)} rounds):`,
    );
    for (const name of names) {
      const { cpu } = best.get(name) as Measured;
      console.log(`- ${name}: ${cpu.toFixed(1)} µs (${(cpu / baseline).toFixed(2)} × baseline)`);
    }
    return names.map((name) => (best.get(name) as Measured).result);
  },
});

export const scenarios: Scenario[] = serving === undefined ? [scenario(1), scenario(64)] : [];
