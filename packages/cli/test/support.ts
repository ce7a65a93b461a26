// Runs the built `tinyrpc` bin as a child process, and serves the shop service on every scheme.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, vi } from 'vitest';
import { RpcServer, type RpcProtocol, type ServerTransport } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { HttpServerTransport } from '@tinyrpc/transport-http';
import { RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
import { StreamServerTransport } from '@tinyrpc/transport-stream';
import { NatsServerTransport } from '@tinyrpc/transport-nats';
import { WsServerTransport } from '@tinyrpc/transport-ws';
import { ZmqServerTransport } from '@tinyrpc/transport-zmq';
import { createShop } from './fixtures/shop.ts';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const bin = join(packageRoot, 'dist', 'bin.js');
export const rabbitMqUrl = 'amqp://guest:guest@127.0.0.1:5672';

// Every test starts processes, several of them; a busy machine (CI shares its cores) makes each
// slower, so the tests get more time than the suite's default.
vi.setConfig({ testTimeout: 60_000 });

const cleanups: (() => unknown)[] = [];

/** Runs `fn` after the current test, newest first. */
export function defer(fn: () => unknown): void {
  cleanups.push(fn);
}

afterEach(async () => {
  for (let fn = cleanups.pop(); fn !== undefined; fn = cleanups.pop()) await fn();
});

// The tests run the built bin, as users do; a build older than the sources would test old code.
// tsc rewrites its build info on every build that found a change.
function checkBuild(): void {
  const built = statSync(join(packageRoot, 'dist', '.tsbuildinfo'), {
    throwIfNoEntry: false,
  })?.mtimeMs;
  const sources = readdirSync(join(packageRoot, 'src'), { recursive: true, encoding: 'utf8' });
  const newest = Math.max(
    ...sources.map((file) => statSync(join(packageRoot, 'src', file)).mtimeMs),
  );
  if (built === undefined || built < newest) {
    throw new Error(`${bin} is missing or older than src/: run pnpm build first`);
  }
}
checkBuild();

/** What a run of the CLI printed, and its exit status. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tinyrpc args…`, killing it after `timeoutMs`. */
export function tinyrpc(
  args: readonly string[],
  options: {
    timeoutMs?: number;
    nodeOptions?: readonly string[];
    env?: NodeJS.ProcessEnv;
    /** Called with the child process once it runs (to signal it, say). */
    started?: (child: ChildProcess) => void;
  } = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  options.started?.(child);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The schemes a shop server can be started on. */
export type ShopScheme = 'http' | 'ws' | 'tcp' | 'tcp-newline' | 'unix' | 'zmq' | 'amqp' | 'nats';

/** A shop service served on `scheme`, closed after the test; `url` is what the CLI is given. */
export async function serveShop(
  scheme: ShopScheme,
  protocol: 'jsonrpc' | 'msgpack' = 'jsonrpc',
): Promise<{ url: string; notes: unknown[] }> {
  const { dispatcher, notes } = createShop();
  const { transport, url } = await listen(scheme);
  const rpcProtocol: RpcProtocol =
    protocol === 'jsonrpc' ? new JsonRpcProtocol() : new MsgpackRpcProtocol();
  const server = new RpcServer(transport, rpcProtocol, dispatcher);
  await server.serve();
  defer(() => server.close());
  return { url: url(), notes };
}

async function listen(
  scheme: ShopScheme,
): Promise<{ transport: ServerTransport; url: () => string }> {
  switch (scheme) {
    case 'http': {
      const transport = new HttpServerTransport({ host: '127.0.0.1', port: 0 });
      return { transport, url: () => `http://127.0.0.1:${String(transport.port)}/` };
    }
    case 'ws': {
      const transport = new WsServerTransport({ host: '127.0.0.1', port: 0 });
      return { transport, url: () => `ws://127.0.0.1:${String(transport.port)}/` };
    }
    case 'tcp':
    case 'tcp-newline': {
      const framing = scheme === 'tcp' ? 'content-length' : 'newline';
      const transport = new StreamServerTransport({ host: '127.0.0.1', port: 0, framing });
      return {
        transport,
        url: () => `tcp://127.0.0.1:${String((transport.address as { port: number }).port)}`,
      };
    }
    case 'unix': {
      const path = join(tmpdir(), `tinyrpc-cli-${randomUUID()}.sock`);
      return { transport: new StreamServerTransport({ path }), url: () => `unix:${path}` };
    }
    case 'zmq': {
      const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
      return {
        transport,
        url: () => (transport.endpoint as string).replace(/^tcp:/, 'zmq+tcp:'),
      };
    }
    case 'amqp': {
      const queue = `tinyrpc-cli-${randomUUID()}`;
      const transport = new RabbitMqServerTransport({
        url: rabbitMqUrl,
        queue,
        queueOptions: { autoDelete: true },
      });
      return { transport, url: () => `${rabbitMqUrl}/?queue=${queue}` };
    }
    case 'nats': {
      const subject = `tinyrpc.cli.${randomUUID()}`;
      const transport = new NatsServerTransport({ servers: '127.0.0.1:4222', subject });
      return { transport, url: () => `nats://127.0.0.1:4222?subject=${subject}` };
    }
  }
}

/** Calls the shop on `scheme` as every scheme's test does: a result, an error, a notification. */
export async function expectCalls(scheme: ShopScheme, flags: readonly string[]): Promise<void> {
  const { url, notes } = await serveShop(scheme);
  expect(await tinyrpc(['call', url, 'reverse_string', 'héllo ☃', ...flags])).toEqual({
    code: 0,
    stdout: '"☃ olléh"\n',
    stderr: '',
  });
  const failed = await tinyrpc(['call', url, 'fail', ...flags]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toMatch(/^error 4001: Out of stock\n/);
  expect(await tinyrpc(['call', url, 'note', '1', '--notify', ...flags])).toMatchObject({
    code: 0,
  });
  // The notification went before the call below on the same kind of connection; both arrive.
  const named = await tinyrpc([
    'call',
    url,
    'inventory.count',
    '--params',
    '{"sku":"abc"}',
    ...flags,
  ]);
  expect(named).toMatchObject({ code: 0, stdout: '3\n' });
  expect(notes).toEqual([1]);
}
