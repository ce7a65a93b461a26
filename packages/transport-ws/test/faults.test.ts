import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient, RpcTimeoutError, TransportError, type Message } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import { cleanup, newClient, startNodeChild, waitUntil } from './helpers.ts';

const resources = cleanup();
afterEach(() => resources.run());

// A WebSocket server in a child process: answers `ping` and never answers anything else.
const childServer = `
import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('listening', () => console.log('READY ' + wss.address().port));
wss.on('connection', (ws) => ws.on('message', (data) => {
  const request = JSON.parse(String(data));
  if (request.method === 'ping') ws.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: 'pong' }));
}));
`;

async function startChild(): Promise<{ child: ReturnType<typeof startNodeChild>; port: number }> {
  const child = resources.track(startNodeChild(childServer));
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      reject(new Error(`child server did not start: ${text}`));
    }, 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /READY (\d+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  return { child, port };
}

describe('faults', () => {
  it('rejects every pending call promptly when the server process is killed mid-call', async () => {
    const { child, port } = await startChild();
    const client = resources.track(newClient(`ws://127.0.0.1:${String(port)}/`));
    expect(await client.call('ping')).toBe('pong');
    const calls = Array.from({ length: 20 }, () => client.call('hang').catch((e: unknown) => e));
    await waitUntil(() => client.pendingCount === 20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const killed = Date.now();
    child.kill('SIGKILL');
    const errors = await Promise.all(calls);
    expect(Date.now() - killed).toBeLessThan(2000);
    for (const error of errors) {
      expect(TransportError.is(error)).toBe(true);
      expect((error as Error).message).toMatch(/closed \(code 1006\)/);
    }
    expect(client.pendingCount).toBe(0);
    // The server is gone: the next call fails clearly instead of hanging.
    const next = await client.call('ping').catch((e: unknown) => e);
    expect(TransportError.is(next)).toBe(true);
    expect((next as Error).message).toMatch(/Could not connect/);
  });

  it('with reconnect, fails pending calls at once; the wait of new ones ends by their timeout', async () => {
    const { child, port } = await startChild();
    const client = resources.track(
      new RpcClient(
        new JsonRpcProtocol(),
        new WsClientTransport(`ws://127.0.0.1:${String(port)}/`, {
          reconnect: { retries: 1000, initialDelay: 20, maxDelay: 50 },
        }),
        { timeout: 300 },
      ),
    );
    expect(await client.call('ping')).toBe('pong');
    const pending = client.call('hang', [], { timeout: 10_000 }).catch((e: unknown) => e);
    await waitUntil(() => client.pendingCount === 1);
    child.kill('SIGKILL');
    expect(TransportError.is(await pending)).toBe(true);
    // The transport keeps no timer of its own for the waiting call: RpcClient's timeout ends it.
    const started = Date.now();
    const waited = await client.call('ping').catch((e: unknown) => e);
    expect(RpcTimeoutError.is(waited)).toBe(true);
    expect((waited as Error).message).toMatch(/after 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('carries any text and any bytes unchanged, in the frame type they were sent in', async () => {
    const server = new WsServerTransport({ port: 0 });
    await server.listen((message) => Promise.resolve(message));
    resources.track(server);
    const client = resources.track(new WsClientTransport(`ws://127.0.0.1:${String(server.port)}/`));
    const received: Message[] = [];
    client.subscribe({ onMessage: (m) => received.push(m), onClose: () => undefined });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // Empty messages are not delivered (see answerNotifications).
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
          fc.uint8Array({ minLength: 1, maxLength: 500 }),
        ),
        async (message) => {
          received.length = 0;
          await client.send(message);
          await waitUntil(() => received.length === 1, 2000);
          const [echoed] = received;
          if (typeof message === 'string') expect(echoed).toBe(message);
          else {
            expect(echoed).toBeInstanceOf(Uint8Array);
            expect([...(echoed as Uint8Array)]).toEqual([...message]);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
