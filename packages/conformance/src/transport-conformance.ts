import assert from 'node:assert/strict';
import {
  isClientTransport,
  isServerTransport,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  RpcTimeoutError,
  TransportError,
  type CallContext,
  type ClientTransport,
  type ListenOptions,
  type Message,
  type MessageHandler,
  type RpcPeer,
  type RpcProtocol,
  type ServerConnection,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import { ConformanceProtocol } from './conformance-protocol.ts';
import { binaryPayload, payloadDifference, textPayload } from './payloads.ts';
import { outcome, register, sleep, until, within, type ConformanceRunner } from './runner.ts';

/**
 * One server transport and a way to connect clients to it, created afresh for every case.
 *
 * The kit starts an `RpcServer` on `server` before it calls `connect`, so a server on port 0 knows
 * its address by then.
 */
export interface TransportFixture {
  /** The server transport under test; the kit serves on it and closes it. */
  readonly server: ServerTransport;
  /** Returns a client transport connected to `server`; a new one per call. The kit closes them. */
  connect(): ClientTransport | Promise<ClientTransport>;
  /**
   * Severs every connection abruptly, as a crashed server or a broken network would (destroy the
   * sockets, kill the peer). Needed when `capabilities.disconnect` is `true`.
   */
  disconnect?(): void | Promise<void>;
  /** Releases whatever else the fixture holds; called last, after the kit closed server and clients. */
  close?(): void | Promise<void>;
}

/** What a transport can do; cases it cannot pass are skipped. Every field has a default. */
export interface TransportCapabilities {
  /** Carries string messages. Default `true`. */
  readonly text?: boolean;
  /** Carries `Uint8Array` messages holding any byte values. Default `true`. */
  readonly binary?: boolean;
  /** Runs many calls of one client at once and answers them in any order. Default `true`. */
  readonly concurrent?: boolean;
  /** Sends one-way messages (notifications). Default `true`. */
  readonly notifications?: boolean;
  /** Serves several clients at once: `connect()` may be called more than once. Default `true`. */
  readonly multipleClients?: boolean;
  /**
   * The largest message, in bytes, the transport carries. Larger round trips are skipped, and a
   * message one byte over it must fail its call with an `RpcError` (not a timeout). Default `Infinity`.
   */
  readonly maxMessageSize?: number;
  /**
   * A call after the server closed fails with a `TransportError`; when `false` it may instead end
   * by its timeout (a broker queue, a callback channel nobody reads). Default `true`.
   */
  readonly detectsServerGone?: boolean;
  /** The fixture has `disconnect()`: pending calls must then fail with a `TransportError`. Default `false`. */
  readonly disconnect?: boolean;
  /** After a lost connection, the same client transport connects again on its next call. Default `false`. */
  readonly reconnect?: boolean;
  /**
   * The transport follows the shared limits of `@tinyrpc/core` (`ServerLimits`): an over-size
   * message fails with an error that says so (its message names `maxMessageSize`, or says "too
   * large") and the server goes on serving other clients. Default `false`, for transports written
   * before the limits.
   */
  readonly limits?: boolean;
  /**
   * The `maxInFlight` the fixture's server runs with: one client's flood of calls never has more than
   * this many handlers running at once, the calls past it wait (or fail with an `RpcError`, never a
   * timeout), and another client is served meanwhile. Default: not tested.
   */
  readonly maxInFlight?: number;
  /**
   * The transport has connections both ends call on (transport contract v1): the server transport
   * announces each connection through `ListenOptions.onConnection` and passes it as
   * `context.connection`, so handlers call back through `context.peer` and the server pushes
   * through `server.onConnection` and `server.peers`. The client transports are connections.
   * Default `false`.
   */
  readonly duplex?: boolean;
  /**
   * A call aborted by its caller aborts the handler's `context.signal` on the server (a
   * `$/cancelRequest` on connections; a closed request on HTTP). Default: the value of `duplex`.
   */
  readonly cancellation?: boolean;
  /**
   * Streamed results (`client.stream()`) arrive in order, and ending the loop ends the server's
   * generator. Default: the value of `duplex`.
   */
  readonly streams?: boolean;
}

/** Options of {@link runTransportConformance}. */
export interface TransportConformanceOptions {
  /** Names the suite: `transport conformance: <name>`. */
  readonly name: string;
  /** Creates a fresh fixture for one case. */
  readonly createFixture: () => TransportFixture | Promise<TransportFixture>;
  readonly capabilities?: TransportCapabilities;
  /**
   * Creates the protocol used for text and general cases, instead of the built-in
   * {@link ConformanceProtocol} in text encoding. It must carry string params and results.
   * Binary cases always use the built-in protocol in binary encoding.
   */
  readonly protocol?: () => RpcProtocol;
  /**
   * Milliseconds one case may take before it fails with a message naming what hung; setup and each
   * teardown step get as long. Default 3000, below vitest's default test timeout of 5 s.
   */
  readonly timeout?: number;
}

interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

const SIZES: readonly [string, number][] = [
  ['empty', 0],
  ['1 byte', 1],
  ['1 kB', 1000],
  ['64 KiB + 1', 65_537],
  ['1 MB', 1_000_000],
];

const byteLength = (message: Message): number =>
  typeof message === 'string' ? Buffer.byteLength(message) : message.length;

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

// The kit's streaming method: '1' to `to`, counting the generators that ended (their finally).
async function* countTo(to: number, counted: { ended: number }): AsyncGenerator<string> {
  try {
    for (let i = 1; i <= to; i++) {
      await Promise.resolve();
      yield String(i);
    }
  } finally {
    counted.ended += 1;
  }
}

// Fails after `n` items with an error of its own code and data, which the loop must see as sent.
async function* failAfter(n: number): AsyncGenerator<string> {
  for (let i = 1; i <= n; i++) {
    await Promise.resolve();
    yield String(i);
  }
  throw new RemoteError('ran dry', { code: 4242, data: { at: n } });
}

/** Everything one case uses: the fixture, an `RpcServer` on it, its clients, and what the methods saw. */
class Harness {
  readonly fixture: TransportFixture;
  readonly server: RpcServer;
  readonly protocol: () => RpcProtocol;
  readonly clients: RpcClient[] = [];
  readonly rawClients: ClientTransport[] = [];
  /** Errors the clients reported through `onError` (stray or unreadable replies). */
  readonly strayReplies: RpcError[] = [];
  readonly contexts: TransportContext[] = [];
  readonly entered = new Set<string>();
  readonly notes: unknown[] = [];
  /** The connections the server transport announced through `onConnection`, in order. */
  readonly announced: ServerConnection[] = [];
  /** Every message the server transport handed over: its connection, and whether it was announced. */
  readonly arrivals: { connection: ServerConnection | undefined; announced: boolean }[] = [];
  /** What `tag` calls saw: the caller's tag and the message's connection. */
  readonly tags: { tag: string; connection: ServerConnection | undefined }[] = [];
  /** What `untilCancelled` saw: calls started, and signals aborted. */
  readonly cancelled = { started: 0, aborted: 0 };
  /** How many `count` generators ran their `finally`. */
  readonly counted = { ended: 0 };
  /** The signals of `holdBack` handlers, and how their calls back to the client ended. */
  readonly heldSignals: AbortSignal[] = [];
  readonly heldBack: Awaited<ReturnType<typeof outcome>>[] = [];
  active = 0;
  maxActive = 0;
  serverClosed = false;
  readonly #gates = new Map<string, Gate>();
  /** The peers `server.onConnection` reported, by the context of their connection. */
  readonly #peers = new Map<TransportContext, RpcPeer>();
  readonly timeout: number;

  private constructor(fixture: TransportFixture, protocol: () => RpcProtocol, timeout: number) {
    this.fixture = fixture;
    this.protocol = protocol;
    this.timeout = timeout;
    const counted = this.counted;
    const dispatcher = new RpcDispatcher()
      .add('echo', (value: unknown) => value)
      .add('delay', async (ms: number, value: unknown) => {
        this.active++;
        this.maxActive = Math.max(this.maxActive, this.active);
        try {
          await sleep(ms);
          return value;
        } finally {
          this.active--;
        }
      })
      .add('block', async (key: string, value: unknown) => {
        this.entered.add(key);
        await this.#gate(key).promise;
        return value;
      })
      .add('hold', async (value: unknown) => {
        this.active++;
        this.maxActive = Math.max(this.maxActive, this.active);
        try {
          await this.#gate('hold').promise;
          return value;
        } finally {
          this.active--;
        }
      })
      .add('record', (value: unknown) => {
        this.notes.push(value);
      })
      .add('fail', (code: number, message: string, data: unknown) => {
        throw new RpcError(message, { code, data });
      })
      .add(
        'untilCancelled',
        (context: CallContext) =>
          new Promise((_, reject) => {
            this.cancelled.started += 1;
            context.signal.addEventListener('abort', () => {
              this.cancelled.aborted += 1;
              reject(context.signal.reason as Error);
            });
          }),
        { context: true },
      )
      .add('count', (to: number) => countTo(to, counted))
      .add('failAfter', failAfter)
      .add(
        'tag',
        (context: CallContext, tag: string) => {
          this.tags.push({ tag, connection: context.transport.connection });
          return tag;
        },
        { context: true },
      )
      .add(
        'callBack',
        (context: CallContext, method: string, params: unknown[]) =>
          peerOf(context).call(method, params),
        { context: true },
      )
      .add(
        'notifyBack',
        (context: CallContext, method: string, params: unknown[]) =>
          peerOf(context).notify(method, params),
        { context: true },
      )
      .add(
        'holdBack',
        async (context: CallContext) => {
          this.heldSignals.push(context.signal);
          this.heldBack.push(await outcome(peerOf(context).call('clientHold')));
          return 'held';
        },
        { context: true },
      );
    this.server = new RpcServer(this.#observe(fixture.server), protocol(), dispatcher, {
      trace: (direction, context) => {
        if (direction === '-->' && context !== undefined) this.contexts.push(context);
      },
    });
    // Registered before serve(), as applications do: a transport may announce at listen().
    this.server.onConnection((peer, context) => {
      this.#peers.set(context, peer);
    });
  }

  static async start(
    options: TransportConformanceOptions,
    protocol: () => RpcProtocol,
  ): Promise<Harness> {
    const fixture = await options.createFixture();
    const harness = new Harness(fixture, protocol, options.timeout ?? 3000);
    try {
      await harness.server.serve();
    } catch (error) {
      await Promise.resolve(fixture.close?.()).catch(() => undefined);
      throw error;
    }
    return harness;
  }

  /** A new `RpcClient` on a new client transport of the fixture, serving `dispatcher` if given. */
  async connect(dispatcher?: RpcDispatcher): Promise<RpcClient> {
    const transport = await this.fixture.connect();
    if (dispatcher !== undefined)
      assert.equal(
        transport.kind,
        'connection',
        'capabilities.duplex is set, but connect() returned a request/reply transport',
      );
    const client = new RpcClient(this.protocol(), transport, {
      onError: (error) => this.strayReplies.push(error),
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    this.clients.push(client);
    return client;
  }

  /** The peers `server.onConnection` reports from now on, in order. */
  /**
   * The peer `server.onConnection` reported for `client`'s connection, found through a `tag` call:
   * the listener receives each connection's `context`, and the call's `context.connection` has it.
   */
  async peerFor(client: RpcClient, tag: string): Promise<RpcPeer> {
    // A transport may connect on the first message: the call makes sure the connection exists.
    assert.equal(await client.call('tag', [tag]), tag);
    const connection = this.tags.find((entry) => entry.tag === tag)?.connection;
    assert.ok(connection !== undefined, `The message of ${tag} had no context.connection`);
    await until(
      () => this.#peers.has(connection.context),
      this.timeout,
      `server.onConnection was called with the peer of ${tag}`,
    );
    return this.#peers.get(connection.context) as RpcPeer;
  }

  /** A new client transport of the fixture, without a client on it. */
  async connectRaw(): Promise<ClientTransport> {
    const transport = await this.fixture.connect();
    this.rawClients.push(transport);
    return transport;
  }

  release(key: string): void {
    this.#gate(key).open();
  }

  async closeServer(): Promise<void> {
    this.serverClosed = true;
    await this.server.close();
  }

  /** Opens every gate, then closes clients, the server and the fixture; reports the first failure. */
  async teardown(ms: number): Promise<void> {
    for (const gate of this.#gates.values()) gate.open();
    const steps: [string, () => Promise<unknown>][] = [
      ...this.clients.map((c, i): [string, () => Promise<unknown>] => [
        `client ${String(i + 1)} close()`,
        () => c.close(),
      ]),
      ...this.rawClients.map((t, i): [string, () => Promise<unknown>] => [
        `client transport ${String(i + 1)} close()`,
        async () => t.close?.(),
      ]),
    ];
    if (!this.serverClosed) steps.push(['server close()', () => this.server.close()]);
    steps.push(['fixture close()', async () => this.fixture.close?.()]);
    let failure: unknown;
    for (const [what, step] of steps) {
      try {
        await within(step(), ms, `Teardown: ${what}`);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure as Error;
  }

  // The fixture's server transport as the server sees it, with what it announces and hands over
  // recorded, so the cases can check the order.
  #observe(transport: ServerTransport): ServerTransport {
    const { announced, arrivals } = this;
    return {
      specificationVersion: transport.specificationVersion,
      listen(handler: MessageHandler, options: ListenOptions = {}) {
        return transport.listen(
          (message, context) => {
            const { connection } = context;
            arrivals.push({
              connection,
              announced: connection !== undefined && announced.includes(connection),
            });
            return handler(message, context);
          },
          {
            ...options,
            onConnection(connection) {
              announced.push(connection);
              options.onConnection?.(connection);
            },
          },
        );
      },
      close: () => transport.close(),
    };
  }

  #gate(key: string): Gate {
    let gate = this.#gates.get(key);
    if (gate === undefined) {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
      this.#gates.set(key, gate);
    }
    return gate;
  }
}

// A handler's way back to its caller; without it the kit's callbacks answer what is missing.
function peerOf(context: CallContext): RpcClient {
  if (context.peer === undefined)
    throw new RpcError(
      'context.peer is undefined: the server transport passed no context.connection with the message',
    );
  return context.peer;
}

/** The methods a client serves to the server in the duplex cases, and what they saw. */
class ClientMethods {
  readonly dispatcher: RpcDispatcher;
  /** The values `clientEcho` received. */
  readonly received: unknown[] = [];
  /** The values `clientRecord` notifications carried. */
  readonly notes: unknown[] = [];
  /** The signals of the `clientHold` calls, each held until it aborts. */
  readonly signals: AbortSignal[] = [];

  constructor(name: string) {
    this.dispatcher = new RpcDispatcher()
      .add('clientEcho', (value: unknown) => {
        this.received.push(value);
        return [name, value];
      })
      .add('clientRecord', (value: unknown) => {
        this.notes.push(value);
      })
      .add(
        'clientHold',
        ({ signal }: CallContext) => {
          this.signals.push(signal);
          return new Promise((resolve) => {
            signal.addEventListener('abort', () => {
              resolve('aborted');
            });
          });
        },
        { context: true },
      );
  }
}

/**
 * Registers the transport conformance cases with a test runner: round trips of many sizes, text
 * and binary, concurrency, notifications, several clients, draining close, a server that goes away,
 * a lost connection, abort, timeout, over-size messages and the interface contract; with
 * `capabilities.duplex`, calls from the server to its clients over their connections.
 *
 * Each case creates its own fixture, serves an `RpcServer` on it with test methods, talks to it
 * through `RpcClient`s, and tears everything down. Assertions use `node:assert/strict`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'; // or 'node:test'
 * runTransportConformance({ describe, it }, { name: 'memory', createFixture });
 * ```
 */
export function runTransportConformance(
  runner: ConformanceRunner,
  options: TransportConformanceOptions,
): void {
  const capabilities = options.capabilities ?? {};
  const text = capabilities.text ?? true;
  const binary = capabilities.binary ?? true;
  const concurrent = capabilities.concurrent ?? true;
  const maxMessageSize = capabilities.maxMessageSize ?? Infinity;
  const notifications = capabilities.notifications ?? true;
  const multipleClients = capabilities.multipleClients ?? true;
  const disconnect = capabilities.disconnect ?? false;
  const duplex = capabilities.duplex ?? false;
  const timeout = options.timeout ?? 3000;
  if (!text && !binary) throw new TypeError('A transport must carry text or binary messages');

  const textProtocol = options.protocol ?? (() => new ConformanceProtocol({ encoding: 'text' }));
  const binaryProtocol = (): RpcProtocol => new ConformanceProtocol({ encoding: 'binary' });
  const general = text ? textProtocol : binaryProtocol;

  const test = (
    name: string,
    enabled: boolean | string,
    body: (harness: Harness) => Promise<void>,
    protocol: () => RpcProtocol = general,
  ): void => {
    register(runner, name, enabled, async () => {
      const harness = await within(
        Harness.start(options, protocol),
        timeout,
        'Setup: createFixture() and serve()',
      );
      let failure: unknown;
      try {
        await within(body(harness), timeout, 'The case');
      } catch (error) {
        failure = error;
      }
      try {
        await harness.teardown(timeout);
      } catch (error) {
        failure ??= error;
      }
      if (failure !== undefined) throw failure as Error;
    });
  };

  const fits = (protocol: () => RpcProtocol, payload: unknown): boolean | string => {
    const size = byteLength(protocol().createRequest('echo', [payload]).serialize());
    return size <= maxMessageSize || `message of ${String(size)} bytes over maxMessageSize`;
  };

  runner.describe(`transport conformance: ${options.name}`, () => {
    test('transports carry their brands', true, async (h) => {
      assert.ok(
        isServerTransport(h.fixture.server),
        'The server transport has no brand: call setBrand(this, serverTransportBrand)',
      );
      const transport = await h.connectRaw();
      assert.ok(
        isClientTransport(transport),
        'The client transport has no brand: call setBrand(this, clientTransportBrand)',
      );
    });

    test(
      'the transports declare transport contract version 1, and the client transport its kind',
      true,
      async (h) => {
        assert.equal(
          h.fixture.server.specificationVersion,
          1,
          'The server transport must declare `readonly specificationVersion = 1`',
        );
        const transport = await h.connectRaw();
        assert.equal(
          transport.specificationVersion,
          1,
          'The client transport must declare `readonly specificationVersion = 1`',
        );
        const kind: unknown = transport.kind;
        assert.ok(
          kind === 'connection' || kind === 'request-reply',
          `The client transport's kind must be 'connection' or 'request-reply', not ${String(kind)}`,
        );
        if (kind === 'connection')
          assert.equal(
            typeof (transport as { subscribe?: unknown }).subscribe,
            'function',
            "A client transport of kind 'connection' needs subscribe()",
          );
        if (duplex)
          assert.equal(
            kind,
            'connection',
            'capabilities.duplex is set, but the client transport is request/reply',
          );
      },
    );

    test(
      'send() resolves the reply (request/reply) or undefined and delivers it to subscribe (connection)',
      true,
      async (h) => {
        const transport = await h.connectRaw();
        const protocol = h.protocol();
        const request = protocol.createRequest('echo', ['raw']);
        if (transport.kind === 'request-reply') {
          const reply = await transport.send(request.serialize(), { expectReply: true });
          assert.notEqual(reply, undefined, 'send() with expectReply resolved no reply');
          const response = protocol.parseReply(reply as Message);
          assert.ok(!('batch' in response) && response.result === 'raw', 'Wrong reply');
          return;
        }
        const received: Message[] = [];
        const stop = transport.subscribe({
          onMessage: (message) => {
            received.push(message);
          },
          onClose: () => undefined,
        });
        try {
          await transport.send(request.serialize());
          await until(() => received.length > 0, timeout, 'the reply reached the listener');
          const response = protocol.parseReply(received[0] as Message);
          assert.ok(!('batch' in response), 'A batch reply answered a single call');
          assert.equal(response.id, request.id, 'The reply has another id');
          assert.equal(response.result, 'raw', 'The reply has another result');
        } finally {
          stop();
        }
      },
    );

    for (const [label, size] of SIZES) {
      const textLoad = textPayload(size);
      test(
        `round trip: text, ${label}`,
        text && fits(textProtocol, textLoad),
        async (h) => {
          const client = await h.connect();
          const difference = payloadDifference(await client.call('echo', [textLoad]), textLoad);
          assert.equal(
            difference,
            undefined,
            `A ${label} text payload came back changed: ${difference ?? ''}`,
          );
        },
        textProtocol,
      );
    }
    for (const [label, size] of SIZES) {
      const bytes = binaryPayload(size);
      test(
        `round trip: binary, ${label}`,
        binary && fits(binaryProtocol, bytes),
        async (h) => {
          const client = await h.connect();
          const difference = payloadDifference(await client.call('echo', [bytes]), bytes);
          assert.equal(
            difference,
            undefined,
            `A ${label} binary payload came back changed: ${difference ?? ''}`,
          );
        },
        binaryProtocol,
      );
    }

    test('the handler receives a context object', true, async (h) => {
      const client = await h.connect();
      await client.call('echo', [1]);
      assert.ok(h.contexts.length > 0, 'The server saw no message');
      for (const context of h.contexts) {
        assert.equal(typeof context, 'object', 'The context must be an object');
        assert.notEqual(context, null, 'The context must not be null');
        if (context.transport !== undefined)
          assert.equal(typeof context.transport, 'string', 'context.transport must be a string');
        if (context.signal !== undefined)
          assert.equal(
            typeof context.signal.aborted,
            'boolean',
            'context.signal must be an AbortSignal',
          );
      }
    });

    test(
      'an error thrown by a method travels back with its code, message and data',
      true,
      async (h) => {
        const client = await h.connect();
        const result = await outcome(
          client.call('fail', [4001, 'Out of stock', { sku: 'a-1', left: 0 }]),
        );
        assert.equal(result.ok, false, 'The failing call succeeded');
        const error = (result as { error: unknown }).error;
        assert.ok(RemoteError.is(error), `Expected a RemoteError, got ${describeError(error)}`);
        assert.equal(error.code, 4001);
        assert.equal(error.message, 'Out of stock');
        assert.deepEqual(error.data, { sku: 'a-1', left: 0 });
      },
    );

    const calls = concurrent ? 100 : 20;
    test(
      concurrent
        ? `${String(calls)} concurrent calls each get their own reply, handled at once`
        : `${String(calls)} calls made at once each get their own reply`,
      true,
      async (h) => {
        const client = await h.connect();
        // Random delays make the server answer out of order.
        const results = await Promise.all(
          Array.from({ length: calls }, (_, i) =>
            client.call('delay', [
              concurrent ? Math.floor(Math.random() * 20) : 0,
              `reply ${String(i)}`,
            ]),
          ),
        );
        results.forEach((result, i) => {
          assert.equal(result, `reply ${String(i)}`, `Call ${String(i)} got another call's reply`);
        });
        if (concurrent)
          assert.ok(
            h.maxActive > 1,
            'The server never ran two calls at once: the transport serializes them',
          );
        assert.equal(client.pendingCount, 0, 'Calls are left pending');
      },
    );

    test('notifications get no reply', capabilities.notifications ?? true, async (h) => {
      const client = await h.connect();
      const protocol = h.protocol();
      const sent = await client.transport.send(
        protocol.createRequest('record', ['raw'], { oneWay: true }).serialize(),
        { expectReply: false },
      );
      assert.equal(sent, undefined, 'send() with expectReply: false must resolve undefined');
      await Promise.all(Array.from({ length: 10 }, (_, i) => client.notify('record', [i])));
      await until(() => h.notes.length === 11, timeout, 'every notification reached the server');
      // A round trip after them, and a moment more, gives a stray reply time to arrive.
      assert.equal(await client.call('echo', ['after']), 'after');
      await sleep(20);
      assert.deepEqual(
        h.strayReplies.map(describeError),
        [],
        'The client received replies that answer no call (replies to notifications?)',
      );
      assert.deepEqual(
        [...h.notes].sort(),
        [...Array.from({ length: 10 }, (_, i) => i), 'raw'].sort(),
        'Notifications were lost or duplicated',
      );
    });

    test(
      'several clients at once each get their own replies',
      capabilities.multipleClients ?? true,
      async (h) => {
        const clients = [await h.connect(), await h.connect(), await h.connect()];
        await Promise.all(
          clients.map(async (client, c) => {
            const results = await Promise.all(
              Array.from({ length: 20 }, (_, i) =>
                client.call('delay', [concurrent ? Math.floor(Math.random() * 10) : 0, [c, i]]),
              ),
            );
            results.forEach((result, i) => {
              assert.deepEqual(
                result,
                [c, i],
                `Client ${String(c)} got a reply meant for another call`,
              );
            });
          }),
        );
      },
    );

    test('server close() finishes in-flight calls before it resolves', true, async (h) => {
      const client = await h.connect();
      const call = outcome(client.call('block', ['drain', 'drained']));
      await until(() => h.entered.has('drain'), timeout, 'the call reached the server');
      let closed = false;
      const closing = h.closeServer().then(() => {
        closed = true;
      });
      await sleep(50);
      assert.equal(closed, false, 'close() resolved while a call was in flight');
      h.release('drain');
      const result = await call;
      assert.ok(
        result.ok,
        `The in-flight call was not answered during close(): ${result.ok ? '' : describeError(result.error)}`,
      );
      assert.equal(result.value, 'drained');
      await closing;
    });

    test(
      capabilities.detectsServerGone === false
        ? 'a call after the server closed fails (by its timeout at the latest)'
        : 'a call after the server closed fails with a TransportError',
      true,
      async (h) => {
        const client = await h.connect();
        assert.equal(await client.call('echo', ['before']), 'before');
        await h.closeServer();
        const result = await outcome(
          client.call('echo', ['after'], { timeout: Math.floor(timeout / 3) }),
        );
        assert.equal(result.ok, false, 'A call after the server closed succeeded');
        const error = (result as { error: unknown }).error;
        if (capabilities.detectsServerGone === false) {
          assert.ok(
            TransportError.is(error) || RpcTimeoutError.is(error),
            `Expected a TransportError or RpcTimeoutError, got ${describeError(error)}`,
          );
        } else {
          assert.ok(
            TransportError.is(error),
            `Expected a TransportError, got ${describeError(error)}`,
          );
        }
        assert.equal(client.pendingCount, 0, 'The failed call is left pending');
      },
    );

    test(
      'a lost connection fails every pending call with a TransportError',
      capabilities.disconnect ?? false,
      async (h) => {
        assert.equal(
          typeof h.fixture.disconnect,
          'function',
          'capabilities.disconnect is set but the fixture has no disconnect()',
        );
        const client = await h.connect();
        const keys = ['lost 1', 'lost 2', 'lost 3'];
        const pending = keys.map((key) => outcome(client.call('block', [key, key])));
        await until(
          () => keys.every((key) => h.entered.has(key)),
          timeout,
          'the calls reached the server',
        );
        await h.fixture.disconnect?.();
        for (const result of await Promise.all(pending)) {
          assert.equal(result.ok, false, 'A call survived the lost connection');
          const error = (result as { error: unknown }).error;
          assert.ok(
            TransportError.is(error),
            `Expected a TransportError, got ${describeError(error)}`,
          );
        }
        assert.equal(client.pendingCount, 0, 'Calls are left pending after the lost connection');
        if (capabilities.reconnect === true) {
          for (const key of keys) h.release(key);
          assert.equal(
            await client.call('echo', ['again']),
            'again',
            'The client did not reconnect',
          );
        }
      },
    );

    test('an aborted call rejects with the reason and leaves nothing pending', true, async (h) => {
      const client = await h.connect();
      const controller = new AbortController();
      const call = outcome(client.call('block', ['abort', 1], { signal: controller.signal }));
      await until(() => h.entered.has('abort'), timeout, 'the call reached the server');
      const reason = new Error('stopped by the test');
      controller.abort(reason);
      const result = await call;
      assert.ok(
        !result.ok && result.error === reason,
        'The call did not reject with the abort reason',
      );
      assert.equal(client.pendingCount, 0, 'The aborted call is left pending');
      const early = new Error('aborted before the call');
      const before = await outcome(client.call('echo', [2], { signal: AbortSignal.abort(early) }));
      assert.ok(
        !before.ok && before.error === early,
        'An already aborted signal did not stop the call',
      );
      // The late reply to the aborted call must not disturb the next one.
      h.release('abort');
      assert.equal(await client.call('echo', ['next']), 'next');
      assert.equal(client.pendingCount, 0, 'Calls are left pending');
    });

    test(
      'a timed-out call rejects with RpcTimeoutError and leaves nothing pending',
      true,
      async (h) => {
        const client = await h.connect();
        const result = await outcome(client.call('block', ['timeout', 1], { timeout: 50 }));
        assert.ok(
          !result.ok && RpcTimeoutError.is(result.error),
          `Expected an RpcTimeoutError, got ${result.ok ? 'a result' : describeError(result.error)}`,
        );
        assert.equal(client.pendingCount, 0, 'The timed-out call is left pending');
        h.release('timeout');
        assert.equal(await client.call('echo', ['next']), 'next');
        assert.equal(client.pendingCount, 0, 'Calls are left pending');
      },
    );

    const over = Number.isFinite(maxMessageSize) ? maxMessageSize + 1 : 0;
    test(
      'a message over maxMessageSize fails its call clearly',
      Number.isFinite(maxMessageSize) || 'maxMessageSize is Infinity',
      async (h) => {
        const client = await h.connect();
        const payload = text ? 'x'.repeat(over) : new Uint8Array(over);
        const result = await outcome(
          client.call('echo', [payload], { timeout: Math.floor(timeout / 2) }),
        );
        assert.equal(result.ok, false, 'An over-size message was carried');
        const error = (result as { error: unknown }).error;
        assert.ok(
          !RpcTimeoutError.is(error),
          'An over-size message was not rejected: the call only timed out',
        );
        assert.ok(RpcError.is(error), `Expected an RpcError, got ${describeError(error)}`);
        assert.equal(client.pendingCount, 0, 'The failed call is left pending');
        if (capabilities.limits !== true) return;
        assert.match(
          error.message,
          /maxMessageSize|too large/i,
          `The error does not say the message was too large: ${describeError(error)}`,
        );
        if (capabilities.multipleClients === false) return;
        const other = await h.connect();
        assert.equal(
          await other.call('echo', ['still serving']),
          'still serving',
          'The server stopped serving after refusing an over-size message',
        );
      },
    );

    const maxInFlight = capabilities.maxInFlight;
    test(
      'a flood of calls on one connection is bounded by maxInFlight, and others are still served',
      maxInFlight !== undefined || 'capabilities.maxInFlight not set',
      async (h) => {
        const limit = maxInFlight as number;
        const flooder = await h.connect();
        const flood = Array.from({ length: limit * 3 }, (_, i) =>
          outcome(flooder.call('hold', [i])),
        );
        await until(() => h.active >= limit, timeout, `${String(limit)} held calls running`);
        await sleep(100);
        assert.ok(
          h.maxActive <= limit,
          `${String(h.maxActive)} calls of one connection ran at once, over maxInFlight ${String(limit)}`,
        );
        if (capabilities.multipleClients !== false) {
          const other = await h.connect();
          assert.equal(
            await other.call('echo', ['served']),
            'served',
            'Another client was starved by the flood',
          );
        }
        h.release('hold');
        const results = await Promise.all(flood);
        let answered = 0;
        for (const result of results) {
          if (result.ok) {
            answered++;
            continue;
          }
          assert.ok(
            RpcError.is(result.error) && !RpcTimeoutError.is(result.error),
            `A call past maxInFlight failed unclearly: ${describeError(result.error)}`,
          );
        }
        assert.ok(answered >= limit, `Only ${String(answered)} of the flood were answered`);
        assert.ok(h.maxActive <= limit, 'maxInFlight was exceeded after the release');
      },
    );

    test(
      'the server transport announces each connection once, before its first message, and gives all its messages the same context.connection',
      duplex,
      async (h) => {
        const count = multipleClients ? 2 : 1;
        const clients: RpcClient[] = [];
        for (let c = 0; c < count; c++) clients.push(await h.connect(new RpcDispatcher()));
        await Promise.all(
          clients.flatMap((client, c) =>
            Array.from({ length: 5 }, () => client.call('tag', [`client ${String(c)}`])),
          ),
        );
        const connectionOf = new Map<string, Set<ServerConnection | undefined>>();
        for (const { tag, connection } of h.tags) {
          const seen = connectionOf.get(tag) ?? new Set();
          seen.add(connection);
          connectionOf.set(tag, seen);
        }
        const connections = new Set<ServerConnection>();
        for (const [tag, seen] of connectionOf) {
          assert.ok(
            !seen.has(undefined),
            `A message of ${tag} had no context.connection: pass the connection with every message`,
          );
          assert.equal(
            seen.size,
            1,
            `The messages of ${tag} carried ${String(seen.size)} different context.connection objects: pass the same one each time`,
          );
          for (const connection of seen) if (connection !== undefined) connections.add(connection);
        }
        assert.equal(
          connections.size,
          count,
          'Two clients got the same context.connection: make one ServerConnection per connection',
        );
        assert.ok(
          h.arrivals.every((arrival) => arrival.announced),
          'A message was handled before ListenOptions.onConnection announced its connection',
        );
        for (const connection of connections) {
          const times = h.announced.filter((c) => c === connection).length;
          assert.equal(
            times,
            1,
            `ListenOptions.onConnection was called ${String(times)} times for one connection`,
          );
          assert.equal(typeof connection.id, 'string', 'connection.id must be a string');
          assert.equal(typeof connection.send, 'function', 'connection.send must be a function');
          assert.equal(typeof connection.close, 'function', 'connection.close must be a function');
          assert.equal(
            connection.signal.aborted,
            false,
            'connection.signal is aborted while the connection is open',
          );
          assert.equal(typeof connection.context, 'object', 'connection.context must be an object');
        }
        assert.equal(
          new Set([...connections].map((c) => c.id)).size,
          count,
          'Two connections have the same id',
        );
      },
    );

    // A handler waiting for its call back holds its maxInFlight place until the reply comes, and a
    // transport past maxInFlight reads nothing more of that connection, the reply included: so at
    // most maxInFlight - 1 calls of one connection may wait for call backs at once.
    const backs = Math.min(10, (capabilities.maxInFlight ?? Infinity) - 1);
    const roomForBacks = backs >= 1 || 'maxInFlight 1 leaves no room for the reply of a call back';
    const callbacks: [string, boolean, () => RpcProtocol, Message][] = [
      ['text', text, textProtocol, textPayload(1000)],
      ['binary', binary, binaryProtocol, binaryPayload(1000)],
    ];
    for (const [label, enabled, protocol, payload] of callbacks) {
      test(
        `a handler calls the caller back through context.peer while the call is in flight (${label})`,
        duplex && enabled && roomForBacks,
        async (h) => {
          const methods = new ClientMethods('caller');
          const client = await h.connect(methods.dispatcher);
          const result = await client.call('callBack', ['clientEcho', [payload]]);
          assert.ok(
            Array.isArray(result) && result[0] === 'caller',
            'The call back did not reach the calling client',
          );
          const difference = payloadDifference(result[1], payload);
          assert.equal(
            difference,
            undefined,
            `A ${label} payload called back came back changed: ${difference ?? ''}`,
          );
          // Several at once, each waiting for its own call back.
          const results = await Promise.all(
            Array.from({ length: backs }, (_, i) => client.call('callBack', ['clientEcho', [i]])),
          );
          results.forEach((r, i) => {
            assert.deepEqual(r, ['caller', i], `Call ${String(i)} got another call back's answer`);
          });
          if (notifications) {
            await client.call('notifyBack', ['clientRecord', ['noted']]);
            await until(
              () => methods.notes.length > 0,
              timeout,
              'the notification reached the client',
            );
            assert.deepEqual(methods.notes, ['noted']);
          }
          assert.equal(client.pendingCount, 0, 'Calls are left pending');
          assert.deepEqual(h.strayReplies.map(describeError), [], 'The client reported errors');
        },
        protocol,
      );
    }

    test(
      disconnect
        ? 'server.onConnection and server.peers reach connected clients, and drop one that disconnects'
        : 'server.onConnection and server.peers reach connected clients',
      duplex,
      async (h) => {
        const names = multipleClients ? ['first', 'second'] : ['first'];
        const methods = names.map((name) => new ClientMethods(name));
        const seen: RpcPeer[] = [];
        for (const [i, m] of methods.entries())
          seen.push(await h.peerFor(await h.connect(m.dispatcher), names[i] as string));
        // Only this case's clients count: a fixture may hold connections of its own.
        const listed = h.server.peers.filter((peer) => seen.includes(peer));
        assert.ok(
          listed.length === seen.length && listed.every((peer, i) => peer === seen[i]),
          'server.peers does not list the connected clients in the order they connected',
        );
        for (const [i, peer] of seen.entries()) {
          const name = names[i] as string;
          assert.deepEqual(
            await peer.call('clientEcho', ['pushed']),
            [name, 'pushed'],
            `A call pushed to the ${name} client reached another one`,
          );
          if (!notifications) continue;
          await peer.notify('clientRecord', [`note to ${name}`]);
        }
        if (notifications)
          for (const [i, m] of methods.entries()) {
            await until(() => m.notes.length > 0, timeout, 'a pushed notification arrived');
            assert.deepEqual(m.notes, [`note to ${names[i] as string}`]);
          }
        if (!disconnect) return;
        await h.fixture.disconnect?.();
        await until(
          () => !h.server.peers.some((peer) => seen.includes(peer)),
          timeout,
          'server.peers dropped the disconnected clients',
        );
      },
    );

    test(
      'each of two clients gets only its own calls from the server',
      duplex && multipleClients && roomForBacks,
      async (h) => {
        const a = new ClientMethods('a');
        const b = new ClientMethods('b');
        const clientA = await h.connect(a.dispatcher);
        const clientB = await h.connect(b.dispatcher);
        const values = (name: string): string[] =>
          Array.from({ length: backs }, (_, i) => `${name} ${String(i)}`);
        const calls = (client: RpcClient, name: string): Promise<unknown[]> =>
          Promise.all(values(name).map((v) => client.call('callBack', ['clientEcho', [v]])));
        const [resultsA, resultsB] = await Promise.all([calls(clientA, 'a'), calls(clientB, 'b')]);
        assert.deepEqual(
          resultsA,
          values('a').map((v) => ['a', v]),
          'A call back meant for client a reached another client',
        );
        assert.deepEqual(
          resultsB,
          values('b').map((v) => ['b', v]),
          'A call back meant for client b reached another client',
        );
        assert.deepEqual([...a.received].sort(), values('a'), "Client a received others' calls");
        assert.deepEqual([...b.received].sort(), values('b'), "Client b received others' calls");
        const seen = [await h.peerFor(clientA, 'a'), await h.peerFor(clientB, 'b')];
        const pushed = await Promise.all(seen.map((peer) => peer.call('clientEcho', ['push'])));
        assert.deepEqual(
          pushed,
          [
            ['a', 'push'],
            ['b', 'push'],
          ],
          "A call pushed to one client's peer reached another client",
        );
      },
    );

    test(
      "a lost connection fails pending calls in both directions with a TransportError and aborts the handlers' signals",
      duplex && disconnect,
      async (h) => {
        const methods = new ClientMethods('held');
        const client = await h.connect(methods.dispatcher);
        const call = outcome(client.call('holdBack'));
        await until(
          () => h.heldSignals.length === 1 && methods.signals.length === 1,
          timeout,
          'the server called the client back',
        );
        await h.fixture.disconnect?.();
        const result = await call;
        assert.ok(
          !result.ok && TransportError.is(result.error),
          `The client's call ended with ${result.ok ? 'a result' : describeError(result.error)}, not a TransportError`,
        );
        await until(
          () => h.heldBack.length === 1,
          timeout,
          "the server's call to the client ended",
        );
        const back = h.heldBack[0] as Awaited<ReturnType<typeof outcome>>;
        assert.ok(
          !back.ok && TransportError.is(back.error),
          `The server's call to the lost client ended with ${back.ok ? 'a result' : describeError(back.error)}, not a TransportError`,
        );
        const serverSignal = h.heldSignals[0] as AbortSignal;
        const clientSignal = methods.signals[0] as AbortSignal;
        await until(() => serverSignal.aborted, timeout, "the server handler's signal aborted");
        await until(() => clientSignal.aborted, timeout, "the client handler's signal aborted");
        assert.equal(client.pendingCount, 0, 'Calls are left pending after the lost connection');
      },
    );

    test(
      disconnect
        ? 'connection.send after the connection is lost rejects with a TransportError'
        : 'connection.send after the server closed rejects with a TransportError',
      duplex,
      async (h) => {
        const client = await h.connect(new RpcDispatcher());
        assert.equal(await client.call('echo', ['hello']), 'hello');
        const connection = h.arrivals.find((arrival) => arrival.connection)?.connection;
        assert.ok(connection !== undefined, 'No message carried context.connection');
        if (disconnect) await h.fixture.disconnect?.();
        else await h.closeServer();
        await until(() => connection.signal.aborted, timeout, 'connection.signal aborted');
        assert.ok(
          TransportError.is(connection.signal.reason),
          `connection.signal aborted with ${describeError(connection.signal.reason)}, not a TransportError`,
        );
        const message = h.protocol().createRequest('echo', ['late'], { oneWay: true }).serialize();
        const sent = await outcome(
          within(connection.send(message), Math.floor(timeout / 2), 'connection.send()'),
        );
        assert.ok(
          !sent.ok && TransportError.is(sent.error),
          `connection.send after the connection was gone ended with ${sent.ok ? 'success' : describeError(sent.error)}, not a TransportError`,
        );
      },
    );

    test(
      'a message to a client over maxMessageSize is refused with a TransportError',
      duplex && (Number.isFinite(maxMessageSize) || 'maxMessageSize is Infinity'),
      async (h) => {
        const methods = new ClientMethods('small');
        const client = await h.connect(methods.dispatcher);
        const peer = await h.peerFor(client, 'small');
        const payload = text ? 'x'.repeat(over) : new Uint8Array(over);
        const result = await outcome(
          peer.call('clientEcho', [payload], { timeout: Math.floor(timeout / 2) }),
        );
        assert.equal(result.ok, false, 'An over-size message reached the client');
        const error = (result as { error: unknown }).error;
        assert.ok(
          !RpcTimeoutError.is(error),
          'An over-size message to the client was not refused: the call only timed out',
        );
        assert.ok(
          TransportError.is(error),
          `Expected a TransportError, got ${describeError(error)}`,
        );
        assert.equal(methods.received.length, 0, 'The over-size message reached the client');
        if (capabilities.limits !== true) return;
        assert.equal(
          await client.call('echo', ['still serving']),
          'still serving',
          'The connection stopped working after refusing an over-size message',
        );
      },
    );

    const cancellation = capabilities.cancellation ?? duplex;
    const streams = capabilities.streams ?? duplex;

    test("a call the caller aborts aborts the handler's signal", cancellation, async (h) => {
      const transport = await h.fixture.connect();
      const client = new RpcClient(h.protocol(), transport, { cancelRequests: true });
      h.clients.push(client);
      const controller = new AbortController();
      const call = outcome(client.call('untilCancelled', [], { signal: controller.signal }));
      await until(() => h.cancelled.started === 1, h.timeout, 'the handler started');
      controller.abort(new Error('the caller gave up'));
      const result = await call;
      assert.ok(!result.ok, 'An aborted call resolved');
      await until(
        () => h.cancelled.aborted === 1,
        h.timeout,
        "the handler's signal aborted after the caller's abort",
      );
      assert.equal(await client.call('echo', ['after']), 'after', 'The client stopped working');
    });

    test('a stream arrives in order, and break ends the server generator', streams, async (h) => {
      const client = await h.connect();
      const items: string[] = [];
      for await (const item of client.stream<string>('count', [50], { highWaterMark: 4 }))
        items.push(item);
      assert.deepEqual(
        items,
        Array.from({ length: 50 }, (_, i) => String(i + 1)),
        'The stream items arrived out of order or incomplete',
      );
      for await (const item of client.stream<string>('count', [1_000_000], { highWaterMark: 4 }))
        if (item === '5') break;
      await until(
        () => h.counted.ended === 2,
        h.timeout,
        "the server generator's finally ran after break",
      );
    });

    test('an error mid-stream reaches the loop after the items before it', streams, async (h) => {
      const client = await h.connect();
      const items: string[] = [];
      const failure = await (async () => {
        for await (const item of client.stream<string>('failAfter', [3])) items.push(item);
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.deepEqual(items, ['1', '2', '3'], 'The items before the error did not all arrive');
      assert.ok(
        RemoteError.is(failure),
        `The loop did not throw the remote error: ${String(failure)}`,
      );
      assert.equal(failure.code, 4242, "The error's code changed on the way");
      assert.equal(failure.message, 'ran dry', "The error's message changed on the way");
      assert.deepEqual(failure.data, { at: 3 }, "The error's data changed on the way");
      assert.equal(await client.call('echo', ['after']), 'after', 'The client stopped working');
    });

    test('close() may be called twice', true, async (h) => {
      const transport = await h.connectRaw();
      await transport.close?.();
      await transport.close?.();
      await h.closeServer();
      await h.fixture.server.close();
    });
  });
}
