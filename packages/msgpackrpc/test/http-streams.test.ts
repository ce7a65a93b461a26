// Streamed results of MessagePack-RPC over HTTP: the body is length-prefixed frames
// (`application/vnd.tinyrpc.frames`: 4 bytes of length, big-endian, then the message), the items
// first and the response that ends the stream last; both server adapters, read by fetch's body.
import { unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  streamHeader,
} from '@tinyrpc/core';
import { sleep, waitUntil } from '@tinyrpc/test-helpers';
import {
  framesContentType,
  HttpClientTransport,
  HttpServerTransport,
} from '@tinyrpc/transport-http';
import { MSGPACK_RPC_CONTENT_TYPE, MsgpackRpcProtocol } from '../src/index.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(ended: { count: number }): Promise<HttpServerTransport> {
  const methods = new RpcDispatcher()
    .add('count', async function* (to: number) {
      try {
        for (let i = 1; i <= to; i++) {
          await sleep(0);
          // Bytes and big integers travel as MessagePack has them.
          yield { i, bytes: new Uint8Array([i, 255]), big: 2n ** 63n - BigInt(i) };
        }
      } finally {
        ended.count += 1;
      }
    })
    .add('failAfter', async function* (n: number) {
      for (let i = 1; i <= n; i++) {
        await Promise.resolve();
        yield i;
      }
      throw new RpcError('ran dry', { code: 4242, data: { at: n } });
    });
  const transport = new HttpServerTransport({ port: 0 });
  const server = new RpcServer(transport, new MsgpackRpcProtocol({ errorData: true }), methods);
  await server.serve();
  cleanups.push(() => server.close());
  return transport;
}

/** The messages of a framed body, unpacked. */
function unframe(body: Uint8Array): unknown[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const messages: unknown[] = [];
  for (let offset = 0; offset < body.length;) {
    const length = view.getUint32(offset);
    messages.push(unpack(body.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  return messages;
}

describe('MessagePack-RPC streams over HTTP', () => {
  it('iterates in order with bytes and big integers, and break ends the generator', async () => {
    const ended = { count: 0 };
    const transport = await serve(ended);
    const client = new RpcClient(
      new MsgpackRpcProtocol({ errorData: true }),
      new HttpClientTransport(transport.url as string),
    );
    cleanups.push(() => client.close());
    const items: { i: number; bytes: Uint8Array; big: bigint }[] = [];
    for await (const item of client.stream<(typeof items)[number]>('count', [40], {
      highWaterMark: 4,
    }))
      items.push(item);
    expect(items.map((item) => item.i)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect([...(items[2]?.bytes ?? [])]).toEqual([3, 255]);
    expect(items[2]?.big).toBe(2n ** 63n - 3n);
    for await (const item of client.stream<(typeof items)[number]>('count', [100_000]))
      if (item.i === 3) break;
    await waitUntil(() => ended.count === 2, 3000);
  });

  it('an error mid-stream arrives after the items with its code, message and data', async () => {
    const transport = await serve({ count: 0 });
    const client = new RpcClient(
      new MsgpackRpcProtocol({ errorData: true }),
      new HttpClientTransport(transport.url as string),
    );
    cleanups.push(() => client.close());
    const items: number[] = [];
    const error = await (async () => {
      for await (const item of client.stream<number>('failAfter', [2])) items.push(item);
    })().catch((e: unknown) => e);
    expect(items).toEqual([1, 2]);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 4242, message: 'ran dry', data: { at: 2 } });
  });

  it('the body is frames: the items as notifications, then the response, from both adapters', async () => {
    const transport = await serve({ count: 0 });
    const protocol = new MsgpackRpcProtocol({ firstId: 5 });
    const body = new Uint8Array(protocol.createRequest('failAfter', [2]).serialize());
    const init = {
      method: 'POST',
      headers: { 'content-type': MSGPACK_RPC_CONTENT_TYPE, [streamHeader]: '16' },
      body,
    };
    for (const response of [
      await fetch(transport.url as string, init),
      await transport.fetch(new Request('http://127.0.0.1/rpc', init)),
    ]) {
      expect(response.headers.get('content-type')).toBe(framesContentType);
      const bytes = new Uint8Array(await response.arrayBuffer());
      // The first frame as the README shows it: 19 bytes of [2, "$/stream/item", [5, 1]].
      expect([...bytes.subarray(0, 4)]).toEqual([0, 0, 0, 0x13]);
      expect(unframe(bytes)).toEqual([
        [2, '$/stream/item', [5, 1]],
        [2, '$/stream/item', [5, 2]],
        [1, 5, [4242, 'ran dry', { at: 2 }], null],
      ]);
    }
  });
});
