import {
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  createMemoryTransport,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { describe, expect, it } from 'vitest';

describe('a client trace hook that throws', () => {
  it('does not fail the call and is reported to onError', async () => {
    const { client: clientTransport, server: serverTransport } = createMemoryTransport();
    const server = new RpcServer(
      serverTransport,
      new JsonRpcProtocol(),
      new RpcDispatcher().add('double', (n: number) => n * 2),
    );
    await server.serve();
    const reported: RpcError[] = [];
    const client = new RpcClient(new JsonRpcProtocol(), clientTransport, {
      trace: () => {
        throw new Error('broken tracer');
      },
      onError: (error) => reported.push(error),
    });
    await expect(client.call('double', [21])).resolves.toBe(42);
    expect(reported).toHaveLength(2);
    expect(reported[0]?.message).toBe('The trace hook threw');
    expect((reported[0]?.cause as Error).message).toBe('broken tracer');
    await server.close();
  });
});
