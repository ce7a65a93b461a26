import { describe, expect, it } from 'vitest';
import { RpcClient, RpcDispatcher, RpcServer, createMemoryTransport } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';

describe('smoke', () => {
  it('calls', async () => {
    const d = new RpcDispatcher();
    d.add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] });
    const { client: ct, server: st } = createMemoryTransport();
    const server = new RpcServer(st, new JsonRpcProtocol(), d);
    await server.serve();
    const client = new RpcClient(new JsonRpcProtocol(), ct);
    expect(await client.call('add', [1, 2])).toBe(3);
    expect(await client.call('add', { a: 2, b: 5 })).toBe(7);
    await server.close();
  });
});
