import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RpcClient, RpcDispatcher, RpcServer, TransportError } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import {
  createFrameDecoder,
  encodeFrame,
  StreamClientTransport,
  StreamServerTransport,
  type Framing,
} from '@tinyrpc/transport-stream';

// Node destroys a child process's stdin as soon as the child exits, while what the child wrote to
// its stdout before exiting may still be unread. These tests reproduce that deterministically with
// two PassThroughs: `up` carries the calls (the child's stdin), `down` the replies (its stdout).
function pair(framing: Framing): {
  up: PassThrough;
  down: PassThrough;
  client: RpcClient;
  nextRequest: () => Promise<{ id: number; method: string }>;
} {
  const up = new PassThrough();
  const down = new PassThrough();
  const client = new RpcClient(
    new JsonRpcProtocol(),
    new StreamClientTransport({ stream: { readable: down, writable: up }, framing }),
  );
  const decoder = createFrameDecoder({ framing });
  const requests: string[] = [];
  up.on('data', (chunk: Buffer) => {
    for (const message of decoder.push(chunk)) requests.push(String(message));
  });
  const nextRequest = async (): Promise<{ id: number; method: string }> => {
    for (let i = 0; i < 100 && requests.length === 0; i++) await delay(10);
    const request = requests.shift();
    if (request === undefined) throw new Error('No request was written');
    return JSON.parse(request) as { id: number; method: string };
  };
  return { up, down, client, nextRequest };
}

const frame = (message: string, framing: Framing): Buffer =>
  Buffer.concat(encodeFrame(message, { framing }).map((piece) => Buffer.from(piece)));

const reply = (id: number, result: unknown, framing: Framing): Buffer =>
  frame(JSON.stringify({ jsonrpc: '2.0', id, result }), framing);

describe.concurrent.each(['content-length', 'newline'] as const)(
  'a stream pair whose writable closes first, %s framing',
  (framing) => {
    it('still delivers the replies the peer wrote before (a child that exited)', async () => {
      const { up, down, client, nextRequest } = pair(framing);
      const call = client.call('crash', [3]).catch((error: unknown) => error);
      const { id } = await nextRequest();
      up.destroy();
      await new Promise((resolve) => {
        process.nextTick(resolve);
      });
      down.end(reply(id, 'crashing', framing));
      expect(await call).toBe('crashing');
      expect(client.pendingCount).toBe(0);
    });

    it('fails later calls at once, and the rest when the readable ends', async () => {
      const { up, down, client, nextRequest } = pair(framing);
      const answered = client.call('add', [1, 2]).catch((error: unknown) => error);
      const unanswered = client.call('delay', [10_000, 'never']).catch((error: unknown) => error);
      const { id } = await nextRequest();
      up.destroy();
      await once(up, 'close');
      const later = client.call('add', [3, 4]);
      await expect(later).rejects.toBeInstanceOf(TransportError);
      await expect(later).rejects.toThrow('The connection is closing');
      down.write(reply(id, 3, framing));
      expect(await answered).toBe(3);
      down.end();
      expect(await unanswered).toBeInstanceOf(TransportError);
      expect(client.pendingCount).toBe(0);
      await expect(client.call('add', [5, 6])).rejects.toBeInstanceOf(TransportError);
    });

    it('reads for a grace period only when the readable never ends', async () => {
      const { up, down, client, nextRequest } = pair(framing);
      const late = client.call('add', [1, 2]).catch((error: unknown) => error);
      const never = client.call('delay', [10_000, 'never']).catch((error: unknown) => error);
      const { id } = await nextRequest();
      const started = Date.now();
      up.destroy();
      await delay(100);
      down.write(reply(id, 3, framing));
      expect(await late).toBe(3);
      const error = await never;
      expect(error).toBeInstanceOf(TransportError);
      expect((error as Error).message).toMatch(/did not end within/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(down.destroyed).toBe(true);
    });

    it('a failing writable stops sending only, like a closed one', async () => {
      const { up, down, client, nextRequest } = pair(framing);
      const call = client.call('add', [1, 2]).catch((error: unknown) => error);
      const { id } = await nextRequest();
      const closed = new Promise((resolve) => up.once('close', resolve)); // once() throws on 'error'
      up.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      await closed;
      await expect(client.call('add', [3, 4])).rejects.toBeInstanceOf(TransportError);
      down.end(reply(id, 3, framing));
      expect(await call).toBe(3);
    });

    it('a server whose writable closes keeps reading until its readable ends', async () => {
      const up = new PassThrough();
      const down = new PassThrough();
      const errors: Error[] = [];
      const seen: string[] = [];
      const transport = new StreamServerTransport({
        stream: { readable: up, writable: down },
        framing,
        onError: (error) => errors.push(error as Error),
      });
      const dispatcher = new RpcDispatcher()
        .add('note', (text: string) => {
          seen.push(text);
        })
        .add('add', (a: number, b: number) => a + b);
      const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
      await server.serve();
      expect(transport.connectionCount).toBe(1);
      down.destroy();
      await once(down, 'close');
      up.write(frame('{"jsonrpc":"2.0","method":"note","params":["after"]}', framing));
      up.end(frame('{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}', framing));
      await once(up, 'close');
      await server.close();
      expect(seen).toEqual(['after']);
      expect(transport.connectionCount).toBe(0);
      // The reply to `add` has nowhere to go; if it was ready before the readable ended, that is
      // reported.
      for (const error of errors) expect(error).toBeInstanceOf(TransportError);
    });
  },
);
