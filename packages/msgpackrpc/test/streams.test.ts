// Calls both ways, cancellation and streams over MessagePack-RPC: the same extension as JSON-RPC's,
// with positional params.
import {
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  createMemoryTransport,
  type CallContext,
} from '@tinyrpc/core';
import { describe, expect, it } from 'vitest';
import { MsgpackRpcProtocol } from '../src/index.ts';

const protocol = new MsgpackRpcProtocol();

describe('MessagePack-RPC on a connection', () => {
  it('streams in order, ends a generator on break, and carries calls back', async () => {
    let ended = 0;
    const methods = new RpcDispatcher()
      .add('count', async function* (to: number) {
        try {
          for (let i = 1; i <= to; i++) yield i;
        } finally {
          ended += 1;
        }
      })
      .add('askBack', (context: CallContext) => context.peer?.call('answer'), { context: true });
    const memory = createMemoryTransport();
    const server = new RpcServer(memory.server, protocol, methods);
    await server.serve();
    const peer = new RpcPeer(memory.client, protocol, {
      dispatcher: new RpcDispatcher().add('answer', () => 'from the client'),
    });
    const items: number[] = [];
    for await (const item of peer.stream<number>('count', [20], { highWaterMark: 3 }))
      items.push(item);
    expect(items).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for await (const item of peer.stream<number>('count', [1000])) if (item === 2) break;
    await expect.poll(() => ended).toBe(2);
    await expect(peer.call('askBack')).resolves.toBe('from the client');
    await peer.close();
    await server.close();
  });

  it('an aborted call aborts the handler through [2, "$/cancelRequest", [id]]', async () => {
    let aborted = 0;
    const methods = new RpcDispatcher().add(
      'hang',
      (context: CallContext) =>
        new Promise((_, reject) => {
          context.signal.addEventListener('abort', () => {
            aborted += 1;
            reject(context.signal.reason as Error);
          });
        }),
      { context: true },
    );
    const memory = createMemoryTransport();
    const server = new RpcServer(memory.server, protocol, methods);
    await server.serve();
    const client = new RpcClient(protocol, memory.client);
    await expect(client.call('hang', [], { timeout: 20 })).rejects.toThrow(/timed out/);
    await expect.poll(() => aborted).toBe(1);
    await client.close();
    await server.close();
  });
});
