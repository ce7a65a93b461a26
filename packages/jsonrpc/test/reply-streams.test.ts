// Streamed replies over a request/reply transport (how HTTP and RabbitMQ carry streams): core's
// side of the contract, over an in-process request/reply pair that carries credit as RabbitMQ
// does. The transports' own tests cover the real wire.
import {
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  specificationVersion,
  type CallContext,
  type MessageHandler,
  type RequestReplyTransport,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import { CreditWindow } from '@tinyrpc/core/transport';
import { describe, expect, it } from 'vitest';
import { JsonRpcProtocol } from '../src/index.ts';

const protocol = new JsonRpcProtocol();

/** A request/reply pair in one process; `streams` says whether the client side carries streams. */
function requestReplyPair(streams = true): {
  client: RequestReplyTransport;
  server: ServerTransport;
  sent: string[];
} {
  let handler: MessageHandler | undefined;
  const sent: string[] = [];
  const server: ServerTransport = {
    specificationVersion,
    listen: (h) => {
      handler = h;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const client: RequestReplyTransport = {
    specificationVersion,
    kind: 'request-reply',
    streams,
    async send(message, options) {
      sent.push(String(message));
      const caller = new AbortController();
      options?.signal?.addEventListener('abort', () => {
        caller.abort(options.signal?.reason);
      });
      const receiver = options?.stream;
      let context: TransportContext = { transport: 'test', signal: caller.signal };
      if (receiver !== undefined) {
        const window = new CreditWindow(receiver.credit);
        receiver.onCredit((credit) => {
          window.grant(credit);
        });
        caller.signal.addEventListener('abort', () => {
          window.end(new Error('caller gone'));
        });
        context = {
          ...context,
          stream: {
            async send(item) {
              await window.take();
              // Every message of the reply but the last must be an item.
              expect(receiver.receive(item)).toBe(true);
            },
          },
        };
      }
      const reply = await (handler as MessageHandler)(message, context);
      if (reply !== undefined && receiver !== undefined)
        expect(receiver.receive(reply)).toBe(false);
      return reply;
    },
  };
  return { client, server, sent };
}

function methods(log: { produced: number; finallyRan: number }): RpcDispatcher {
  return new RpcDispatcher()
    .add('count', async function* (to: number) {
      try {
        for (let i = 1; i <= to; i++) {
          log.produced = i;
          await Promise.resolve();
          yield i;
        }
      } finally {
        log.finallyRan += 1;
      }
    })
    .add('failAfter', async function* (n: number) {
      for (let i = 1; i <= n; i++) {
        await Promise.resolve();
        yield i;
      }
      throw new RemoteError('ran dry', { code: 4242, data: { at: n } });
    })
    .add(
      'ticks',
      async function* (context: CallContext) {
        try {
          let tick = 0;
          while (!context.signal.aborted) {
            yield (tick += 1);
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        } finally {
          log.finallyRan += 1;
        }
      },
      { context: true },
    )
    .add('plain', () => 42);
}

async function setUp(streams = true) {
  const log = { produced: 0, finallyRan: 0 };
  const pair = requestReplyPair(streams);
  const server = new RpcServer(pair.server, protocol, methods(log));
  await server.serve();
  const client = new RpcClient(protocol, pair.client);
  return { log, client, server, sent: pair.sent };
}

describe('streamed replies over a request/reply transport', () => {
  it('iterate every item in order, with the credit held to the window', async () => {
    const { log, client, sent } = await setUp();
    const items: number[] = [];
    for await (const item of client.stream<number>('count', [100], { highWaterMark: 8 })) {
      items.push(item);
      expect(log.produced - item).toBeLessThanOrEqual(8);
      if (item % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(items).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(log.finallyRan).toBe(1);
    // One request, and no `$/stream/open` or credit notifications: the transport carries credit.
    expect(sent).toEqual(['{"jsonrpc":"2.0","method":"count","params":[100],"id":1}']);
  });

  it('break ends the server generator (its finally runs)', async () => {
    const { log, client } = await setUp();
    for await (const tick of client.stream<number>('ticks', [], { highWaterMark: 2 }))
      if (tick === 3) break;
    await expect.poll(() => log.finallyRan).toBe(1);
    await expect(client.call('plain')).resolves.toBe(42);
  });

  it('an error thrown mid-stream reaches the loop after the items before it', async () => {
    const { client } = await setUp();
    const seen: number[] = [];
    const error = await (async () => {
      for await (const item of client.stream<number>('failAfter', [3])) seen.push(item);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([1, 2, 3]);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 4242, message: 'ran dry', data: { at: 3 } });
  });

  it('a method that does not stream, and call() of one that does, say so', async () => {
    const { client } = await setUp();
    await expect(
      (async () => {
        for await (const item of client.stream('plain')) expect(item).toBeUndefined();
      })(),
    ).rejects.toThrow(/not a stream/);
    await expect(client.call('count', [3])).rejects.toThrow(/call it with stream\(\)/);
  });

  it('a request/reply transport without streams refuses stream() with a clear error', async () => {
    const { client, sent } = await setUp(false);
    const failure = await (async () => {
      for await (const item of client.stream('count', [3])) expect(item).toBeUndefined();
    })().catch((e: unknown) => e);
    expect(RpcError.is(failure)).toBe(true);
    expect(String(failure)).toMatch(/carries no streamed replies/);
    expect(sent).toEqual([]);
  });
});
