// MessagePack-RPC on every transport: one table of transports, one table of protocols, and the same
// cases for each pair. A transport is one entry in `transports`: a name, the package it comes from,
// and `start(protocol)`, which serves the matrix's methods on a server transport and returns a
// client connected to it.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { MessageChannel } from 'node:worker_threads';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  createMemoryTransport,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  type ClientTransport,
  type Message,
  type RpcProtocol,
  type ServerTransport,
} from '@tinyrpc/core';
import { MSGPACK_RPC_CONTENT_TYPE, MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { gate, tcpReachable, portChannel } from '@tinyrpc/test-helpers';
import { HttpClientTransport, HttpServerTransport } from '@tinyrpc/transport-http';
import { NatsClientTransport, NatsServerTransport } from '@tinyrpc/transport-nats';
import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
import { StreamClientTransport, StreamServerTransport } from '@tinyrpc/transport-stream';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import {
  ZmqClientTransport,
  ZmqReqClientTransport,
  ZmqServerTransport,
} from '@tinyrpc/transport-zmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A running server and a client connected to it. */
interface Started {
  readonly client: RpcClient;
  /** Closes client, server and whatever else the row opened. */
  close(): Promise<void>;
}

/** One transport of the matrix. */
interface TransportRow {
  readonly name: string;
  /** The workspace package the transport comes from (checked against `packages/`). */
  readonly package: string;
  /** A service the row needs (a broker): outside CI the row is skipped when it is missing. */
  readonly requires?: { readonly what: string; available(): Promise<boolean> };
  /**
   * The content type every request must reach the server with (its context's `content-type`
   * header) and every answer with a body must come back with (the row records them in
   * `replyContentTypes`).
   */
  readonly contentType?: string;
  /** Serves the matrix's methods with `protocol` and returns a client; use {@link serve}. */
  start(protocol: () => RpcProtocol): Promise<Started>;
}

/** One protocol of the matrix (a factory: client and server each get their own instance). */
interface ProtocolRow {
  readonly name: string;
  readonly create: () => RpcProtocol;
}

const callTimeout = 5000;

// What the server saw, for the cases to check; reset by each row's start().
const notes: unknown[] = [];
const incoming: Message[] = [];
const requestContentTypes: unknown[] = [];
const replyContentTypes: (string | null)[] = [];
const strayReplies: RpcError[] = [];

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const dispatcher = new RpcDispatcher()
  .add('echo', (value: unknown) => value)
  .add('kind', (value: unknown) =>
    value instanceof Uint8Array ? `bytes:${String(value.length)}` : typeof value,
  )
  .add('delay', async (ms: number, value: unknown) => {
    await wait(ms);
    return value;
  })
  .add('record', (value: unknown) => {
    notes.push(value);
  })
  .add('fail', (code: number, message: string) => {
    throw new RpcError(message, { code });
  })
  .add('boom', () => {
    throw new Error('kaboom');
  });

/**
 * Serves the matrix's methods on `server` with `protocol`, then connects a client through
 * `connect()`. `release` frees anything else the row opened; it runs after client and server close.
 */
async function serve(
  protocol: () => RpcProtocol,
  server: ServerTransport,
  connect: () => ClientTransport | Promise<ClientTransport>,
  release?: () => unknown,
): Promise<Started> {
  notes.length = 0;
  incoming.length = 0;
  requestContentTypes.length = 0;
  replyContentTypes.length = 0;
  strayReplies.length = 0;
  const rpcServer = new RpcServer(server, protocol(), dispatcher, {
    trace: (direction, context, message) => {
      if (direction !== '-->') return;
      incoming.push(message);
      requestContentTypes.push(context?.headers?.['content-type']);
    },
  });
  await rpcServer.serve();
  let client: RpcClient;
  try {
    client = new RpcClient(protocol(), await connect(), {
      timeout: callTimeout,
      onError: (error) => strayReplies.push(error),
    });
  } catch (error) {
    await rpcServer.close();
    await release?.();
    throw error;
  }
  return {
    client,
    async close() {
      await client.close();
      await rpcServer.close();
      await release?.();
    },
  };
}

const zmqEndpoint = (server: ZmqServerTransport): string => {
  if (server.endpoint === undefined) throw new Error('The ZeroMQ server is not bound');
  return server.endpoint;
};

const transports: TransportRow[] = [
  {
    name: 'memory',
    package: '@tinyrpc/core',
    start(protocol) {
      const { client, server } = createMemoryTransport();
      return serve(protocol, server, () => client);
    },
  },
  {
    name: 'callback over a MessageChannel',
    package: '@tinyrpc/core',
    start(protocol) {
      const { port1, port2 } = new MessageChannel();
      return serve(
        protocol,
        new CallbackServerTransport(portChannel(port2)),
        () => new CallbackClientTransport(portChannel(port1)),
        () => {
          port1.close();
          port2.close();
        },
      );
    },
  },
  {
    name: 'WebSocket, binary frames',
    package: '@tinyrpc/transport-ws',
    start(protocol) {
      const server = new WsServerTransport({ port: 0, path: '/rpc' });
      return serve(
        protocol,
        server,
        () => new WsClientTransport(`ws://127.0.0.1:${String(server.port)}/rpc`),
      );
    },
  },
  {
    name: 'ZeroMQ, DEALER client',
    package: '@tinyrpc/transport-zmq',
    start(protocol) {
      const server = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
      return serve(
        protocol,
        server,
        () => new ZmqClientTransport(zmqEndpoint(server), { silenceTimeout: callTimeout }),
      );
    },
  },
  {
    name: 'ZeroMQ, REQ client',
    package: '@tinyrpc/transport-zmq',
    start(protocol) {
      const server = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
      return serve(
        protocol,
        server,
        () => new ZmqReqClientTransport(zmqEndpoint(server), { defaultTimeout: callTimeout }),
      );
    },
  },
  {
    name: 'stream over TCP, content-length framing',
    package: '@tinyrpc/transport-stream',
    start(protocol) {
      const server = new StreamServerTransport({ port: 0, framing: 'content-length' });
      return serve(
        protocol,
        server,
        () =>
          new StreamClientTransport({
            port: (server.address as AddressInfo).port,
            framing: 'content-length',
          }),
      );
    },
  },
  {
    name: 'HTTP, application/msgpack',
    package: '@tinyrpc/transport-http',
    contentType: MSGPACK_RPC_CONTENT_TYPE,
    start(protocol) {
      const server = new HttpServerTransport({ port: 0 });
      return serve(
        protocol,
        server,
        () =>
          new HttpClientTransport(`http://127.0.0.1:${String(server.port)}/`, {
            contentType: MSGPACK_RPC_CONTENT_TYPE,
            timeout: callTimeout,
            // Records the content type of every answer, for the content-type case.
            fetch: async (input, init) => {
              const response = await fetch(input, init);
              replyContentTypes.push(response.headers.get('content-type'));
              return response;
            },
          }),
      );
    },
  },
  {
    name: 'RabbitMQ, direct reply-to',
    package: '@tinyrpc/transport-rabbitmq',
    requires: {
      what: 'RabbitMQ at 127.0.0.1:5672',
      available: () => tcpReachable('127.0.0.1', 5672),
    },
    start(protocol) {
      const queue = `tinyrpc-matrix-${randomBytes(6).toString('hex')}`;
      const url = 'amqp://guest:guest@127.0.0.1:5672';
      return serve(
        protocol,
        // autoDelete: the broker deletes the queue once the server's consumer is cancelled (close).
        new RabbitMqServerTransport({ url, queue, queueOptions: { autoDelete: true } }),
        () => new RabbitMqClientTransport({ url, routingKey: queue, defaultTimeout: callTimeout }),
      );
    },
  },
  {
    name: 'NATS, queue group',
    package: '@tinyrpc/transport-nats',
    requires: {
      what: 'NATS at 127.0.0.1:4222',
      available: () => tcpReachable('127.0.0.1', 4222),
    },
    start(protocol) {
      const subject = `tinyrpc.matrix.${randomBytes(6).toString('hex')}`;
      const servers = '127.0.0.1:4222';
      return serve(
        protocol,
        new NatsServerTransport({ servers, subject }),
        () => new NatsClientTransport({ servers, subject }),
      );
    },
  },
];

const protocols: ProtocolRow[] = [
  { name: 'MessagePack-RPC', create: () => new MsgpackRpcProtocol() },
];

// Values and what each reads back as (README, "Values").
const nested = {
  level: 1,
  inner: { level: 2, list: [1, 'two', { level: 3, deep: [true, null] }] },
};
const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
const results: [string, unknown, unknown][] = [
  ['an integer', 42, 42],
  ['a negative fraction', -2.5, -2.5],
  ['a whole number beyond 32 bits', 2 ** 40, 2 ** 40],
  ['a bigint beyond 2^53', 2n ** 60n, 2n ** 60n],
  ['a string beyond ASCII', 'héllo ✓ 😀 "q" \\ \n', 'héllo ✓ 😀 "q" \\ \n'],
  ['an empty string', '', ''],
  ['true', true, true],
  ['false', false, false],
  ['null', null, null],
  ['a nested map', nested, nested],
  ['a Map', new Map([['a', { b: 1 }]]), { a: { b: 1 } }],
  ['an array of mixed values', [1, 'a', [2, [3]], { k: 'v' }], [1, 'a', [2, [3]], { k: 'v' }]],
  ['a Date', new Date(Date.UTC(2024, 1, 29, 12)), new Date(Date.UTC(2024, 1, 29, 12))],
];

/** 64 Ki characters of multi-byte text, in whole repeats so no surrogate pair is cut. */
const textUnit = 'abc é ✓ 😀 ';
const bigText = textUnit.repeat(Math.ceil(65_536 / textUnit.length));
/** 64 KiB of every byte value in a scrambled order. */
const bigBytes = Uint8Array.from({ length: 65_536 }, (_, i) => (i * 131 + (i >> 8)) & 0xff);

const packageRoot = new URL('../../../', import.meta.url);

describe('every transport package of the workspace has a row', () => {
  it('lists each packages/transport-* in the matrix', () => {
    const inWorkspace = readdirSync(packageRoot)
      .filter((folder) => folder.startsWith('transport-'))
      .map(
        (folder) =>
          (
            JSON.parse(readFileSync(new URL(`${folder}/package.json`, packageRoot), 'utf8')) as {
              name: string;
            }
          ).name,
      );
    const covered = new Set(transports.map((row) => row.package));
    expect(
      inWorkspace.filter((name) => !covered.has(name)),
      'Transport packages without a row: add an entry to `transports` for each',
    ).toEqual([]);
  });
});

for (const protocol of protocols) {
  for (const row of transports) {
    const available =
      row.requires === undefined || gate(row.requires.what, await row.requires.available());

    describe.skipIf(!available)(`${protocol.name} over ${row.name}`, () => {
      let started: Started | undefined;
      const client = (): RpcClient => {
        if (started === undefined) throw new Error('The row did not start');
        return started.client;
      };
      beforeAll(async () => {
        started = await row.start(protocol.create);
      });
      afterAll(async () => {
        await started?.close();
      });

      it.each(results)('returns %s', async (_, value, expected) => {
        expect(await client().call('echo', [value])).toEqual(expected);
      });

      it('carries bytes as bytes both ways (bin, not str)', async () => {
        expect(await client().call('kind', [bytes])).toBe('bytes:256');
        const back = await client().call('echo', [bytes]);
        expect(back).toBeInstanceOf(Uint8Array);
        expect(new Uint8Array(back as Uint8Array)).toEqual(bytes);
        // The transport delivered every message to the server as bytes, untouched.
        expect(incoming.length).toBeGreaterThan(0);
        expect(incoming.every((message) => message instanceof Uint8Array)).toBe(true);
      });

      it('fails a call with the error code and message as a RemoteError', async () => {
        const error = await client()
          .call('fail', [4001, 'Out of stock'])
          .catch((e: unknown) => e);
        expect(RemoteError.is(error)).toBe(true);
        expect(error).toMatchObject({ code: 4001, message: 'Out of stock' });
        await expect(client().call('boom')).rejects.toMatchObject({
          code: -32000,
          message: 'kaboom',
        });
        await expect(client().call('missing')).rejects.toMatchObject({ code: -32601 });
      });

      it('delivers notifications without a reply', async () => {
        await client().notify('record', ['first']);
        await client().notify('record', [{ second: new Uint8Array([2]) }]);
        await expect.poll(() => notes.length).toBe(2);
        expect(notes[0]).toBe('first');
        expect(new Uint8Array((notes[1] as { second: Uint8Array }).second)).toEqual(
          new Uint8Array([2]),
        );
        // A call after them, and a moment more, gives a stray reply time to arrive.
        expect(await client().call('echo', ['after'])).toBe('after');
        await wait(20);
        expect(strayReplies).toEqual([]);
      });

      it('answers 50 concurrent calls, each with its own result', async () => {
        const calls = Array.from({ length: 50 }, (_, i) =>
          client().call<{ call: number; bytes: Uint8Array }>('delay', [
            (i * 7) % 11,
            { call: i, bytes: new Uint8Array([i]) },
          ]),
        );
        const answers = await Promise.all(calls);
        answers.forEach((answer, i) => {
          expect(answer.call).toBe(i);
          expect([...answer.bytes]).toEqual([i]);
        });
        expect(client().pendingCount).toBe(0);
      });

      it.runIf(row.contentType !== undefined)(
        `sends and answers with the row's content type (${row.contentType ?? 'none set'})`,
        async () => {
          expect(await client().call('echo', [bytes])).toBeInstanceOf(Uint8Array);
          await client().notify('record', ['typed']);
          await expect.poll(() => notes).toContain('typed');
          expect(requestContentTypes.length).toBeGreaterThanOrEqual(2);
          expect(requestContentTypes.every((type) => type === row.contentType)).toBe(true);
          // The call's answer; the notification is answered 204, without a content type.
          expect(replyContentTypes).toContain(row.contentType);
          expect(replyContentTypes.every((type) => type === row.contentType || type === null)).toBe(
            true,
          );
        },
      );

      it('carries a 64 KB payload both ways', async () => {
        const back = await client().call<{ text: string; bytes: Uint8Array }>('echo', [
          { text: bigText, bytes: bigBytes },
        ]);
        expect(back.text === bigText).toBe(true);
        expect(Buffer.compare(back.bytes, bigBytes)).toBe(0);
      });
    });
  }
}
