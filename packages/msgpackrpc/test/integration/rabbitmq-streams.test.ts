// MessagePack-RPC streams over RabbitMQ: the items, the end and an error mid-stream travel as
// MessagePack, the credit as the transport's own messages (packages/transport-rabbitmq covers them).
import { randomBytes } from 'node:crypto';
import { RemoteError, RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { gate, tcpReachable } from '@tinyrpc/test-helpers';
import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
import { describe, expect, it } from 'vitest';

const url = 'amqp://guest:guest@127.0.0.1:5672';
const available = gate('RabbitMQ at 127.0.0.1:5672', await tcpReachable('127.0.0.1', 5672));

describe.skipIf(!available)('MessagePack-RPC streams over RabbitMQ', () => {
  it('iterates the items in order; an error mid-stream arrives with its code and data', async () => {
    const queue = `tinyrpc-test-msgpack-stream-${randomBytes(6).toString('hex')}`;
    let finallyRan = 0;
    const dispatcher = new RpcDispatcher()
      .add('count', async function* (to: number) {
        try {
          for (let i = 1; i <= to; i++) {
            await Promise.resolve();
            yield { i, bytes: new Uint8Array([i % 256]) };
          }
        } finally {
          finallyRan += 1;
        }
      })
      .add('failAfter', async function* (n: number) {
        for (let i = 1; i <= n; i++) {
          await Promise.resolve();
          yield i;
        }
        throw new RemoteError('ran dry', { code: 4242, data: { at: n } });
      });
    const server = new RpcServer(
      new RabbitMqServerTransport({ url, queue, queueOptions: { autoDelete: true } }),
      // Error data travels only when asked for (Python tinyrpc has none).
      new MsgpackRpcProtocol({ errorData: true }),
      dispatcher,
    );
    await server.serve();
    const client = new RpcClient(
      new MsgpackRpcProtocol(),
      new RabbitMqClientTransport({ url, routingKey: queue }),
    );
    try {
      const items: { i: number; bytes: Uint8Array }[] = [];
      for await (const item of client.stream<{ i: number; bytes: Uint8Array }>('count', [100], {
        highWaterMark: 8,
      }))
        items.push(item);
      expect(items.map((item) => item.i)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect([...(items[99]?.bytes ?? [])]).toEqual([100]);
      expect(finallyRan).toBe(1);

      const seen: number[] = [];
      const error = await (async () => {
        for await (const item of client.stream<number>('failAfter', [2])) seen.push(item);
      })().catch((e: unknown) => e);
      expect(seen).toEqual([1, 2]);
      expect(RemoteError.is(error)).toBe(true);
      expect(error).toMatchObject({ code: 4242, message: 'ran dry', data: { at: 2 } });
    } finally {
      await client.close();
      await server.close();
    }
  });
});
