import { describe, expect, it } from 'vitest';
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { ZmqClientTransport, ZmqServerTransport } from '../src/index.ts';

describe('smoke', () => {
  it('calls both ways', async () => {
    const d = new RpcDispatcher();
    d.add('add', (a: number, b: number) => a + b);
    const st = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
    const server = new RpcServer(st, new JsonRpcProtocol(), d);
    await server.serve();
    const dealer = new RpcClient(new JsonRpcProtocol(), new ZmqClientTransport(st.endpoint!));
    const req = new RpcClient(new JsonRpcProtocol(), new ZmqClientTransport(st.endpoint!, { mode: 'req' }));
    expect(await dealer.call('add', [1, 2])).toBe(3);
    expect(await req.call('add', [1, 2])).toBe(3);
    const many = await Promise.all(Array.from({ length: 2000 }, (_, i) => dealer.call('add', [i, 1])));
    expect(many[1999]).toBe(2000);
    const manyReq = await Promise.all(Array.from({ length: 50 }, (_, i) => req.call('add', [i, 1])));
    expect(manyReq[49]).toBe(50);
    await req.notify('add', [1, 2]);
    expect(await req.call('add', [1, 2])).toBe(3);
    await dealer.close();
    await req.close();
    await server.close();
  });
});
