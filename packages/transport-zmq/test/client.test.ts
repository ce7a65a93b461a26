import { describe, expect, it } from 'vitest';
import {
  isClientTransport,
  RpcDispatcher,
  RpcError,
  RpcTimeoutError,
  TransportError,
} from '@tinyrpc/core';
import { Router } from 'zeromq';
import { ZmqClientTransport, ZmqReqClientTransport } from '../src/index.ts';
import {
  connect,
  defer,
  delay,
  owned,
  receiveWithin,
  startServer,
  restartServerOn,
  testDispatcher,
  unboundEndpoint,
} from './helpers.ts';

/** A raw ROUTER on a free port that the test answers by hand. */
async function rawRouter(): Promise<{ socket: Router; endpoint: string }> {
  const socket = owned(new Router());
  await socket.bind('tcp://127.0.0.1:0');
  return { socket, endpoint: socket.lastEndpoint as string };
}

/** The test methods and `text(n)`, whose reply is `n` letters long. */
const textDispatcher = (): RpcDispatcher =>
  testDispatcher().add('text', (length: number) => 'z'.repeat(length));

describe('ZmqClientTransport (DEALER)', () => {
  it('is a branded connection', () => {
    const transport = new ZmqClientTransport('tcp://127.0.0.1:1');
    defer(() => transport.close());
    expect(isClientTransport(transport)).toBe(true);
    expect(transport.kind).toBe('connection');
    expect(typeof transport.subscribe).toBe('function');
  });

  it('keeps many calls in flight and matches replies that come out of order', async () => {
    const { endpoint } = await startServer();
    const { client } = connect(endpoint);
    const slow = client.call('sleep', [200, 'slow']);
    const fast = await client.call('sleep', [0, 'fast']);
    expect(fast).toBe('fast');
    const many = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => client.call('add', [i, 1])),
    );
    expect(many).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(await slow).toBe('slow');
    expect(client.pendingCount).toBe(0);
  });

  it('sends notifications without leaving anything for the client to trip on', async () => {
    const seen: number[] = [];
    const dispatcher = testDispatcher().add('note', (n: number) => seen.push(n));
    const { endpoint } = await startServer(dispatcher);
    const errors: RpcError[] = [];
    const { client } = connect(endpoint, {}, { onError: (e) => errors.push(e) });
    await client.notify('note', [1]);
    await client.notify('note', [2]);
    expect(await client.call('add', [1, 1])).toBe(2);
    await expect.poll(() => seen).toEqual([1, 2]);
    expect(errors).toEqual([]);
  });

  it('answers remote errors as RemoteError-like RpcErrors', async () => {
    const { endpoint } = await startServer();
    const { client } = connect(endpoint);
    await expect(client.call('fail')).rejects.toMatchObject({ code: -32000, message: 'it failed' });
    await expect(client.call('missing')).rejects.toMatchObject({ code: -32601 });
  });

  it('fails pending calls after `silenceTimeout` ms when nobody binds the endpoint', async () => {
    const { client, transport } = connect(await unboundEndpoint(), { silenceTimeout: 300 });
    const started = performance.now();
    const results = await Promise.allSettled([
      client.call('add', [1, 2]),
      client.call('echo', [1]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results)
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RpcTimeoutError);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(client.pendingCount).toBe(0);
    // A later call gets a full timeout of its own.
    await expect(client.call('add', [1, 2])).rejects.toBeInstanceOf(RpcTimeoutError);
    await transport.close();
  });

  it('leaves nothing pending when RpcClient’s own timeout or a signal ends a call', async () => {
    const { endpoint } = await startServer();
    const { client } = connect(endpoint, {}, { timeout: 200 });
    await expect(client.call('sleep', [5000, 'late'])).rejects.toBeInstanceOf(RpcTimeoutError);
    expect(client.pendingCount).toBe(0);
    const controller = new AbortController();
    const aborted = client.call('sleep', [5000, 'late'], { signal: controller.signal });
    controller.abort(new Error('changed my mind'));
    await expect(aborted).rejects.toThrow('changed my mind');
    expect(client.pendingCount).toBe(0);
    expect(await client.call('add', [2, 2])).toBe(4);
  });

  it('fails pending calls at once with TransportError when the connection drops', async () => {
    const { endpoint, transport: serverTransport } = await startServer();
    const { client } = connect(endpoint, { silenceTimeout: 30_000 });
    expect(await client.call('add', [1, 1])).toBe(2);
    const pending = client.call('sleep', [1500, 'never']);
    await delay(50);
    const started = performance.now();
    // A crash: the socket goes away without answering.
    serverTransport.socket.linger = 0;
    serverTransport.socket.close();
    await expect(pending).rejects.toBeInstanceOf(TransportError);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(client.pendingCount).toBe(0);
  });

  it('queues what the socket cannot take yet, in order, and drops what was withdrawn', async () => {
    const endpoint = await unboundEndpoint();
    const transport = new ZmqClientTransport(endpoint);
    defer(() => transport.close());
    // More than ZeroMQ's high-water mark (1000) while nobody listens: the rest wait in the queue.
    const sends = Array.from({ length: 3000 }, (_, i) => transport.send(`m${String(i)}`));
    const controller = new AbortController();
    const withdrawn = transport.send('withdrawn', { signal: controller.signal });
    controller.abort(new Error('withdrawn'));
    await expect(withdrawn).rejects.toThrow('withdrawn');

    const socket = owned(new Router());
    await socket.bind(endpoint);
    const received: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const frames = await receiveWithin(socket, 5000);
      if (frames === undefined) break;
      received.push(frames[1] as string);
    }
    expect(received).toEqual(Array.from({ length: 3000 }, (_, i) => `m${String(i)}`));
    expect(await receiveWithin(socket, 200)).toBeUndefined();
    await Promise.all(sends);
  });

  it('skips empty frames and delivers replies that came before the connection dropped', async () => {
    const { socket, endpoint } = await rawRouter();
    const errors: RpcError[] = [];
    const { client } = connect(endpoint, {}, { onError: (e) => errors.push(e) });
    const answered = client.call('add', [1, 2]);
    const unanswered = client.call('add', [3, 4]);
    const [identity, body] = (await socket.receive()) as [Buffer, Buffer];
    await socket.receive();
    const id = (JSON.parse(body.toString()) as { id: number }).id;
    await socket.send([identity, '']);
    await socket.send([identity, JSON.stringify({ jsonrpc: '2.0', id, result: 3 })]);
    // The server goes away right after answering one call; linger lets that answer leave first.
    socket.linger = 1000;
    socket.close();
    expect(await answered).toBe(3);
    await expect(unanswered).rejects.toBeInstanceOf(TransportError);
    expect(errors).toEqual([]);
  });

  it('close() fails pending and later calls with TransportError', async () => {
    const { endpoint } = await startServer();
    const { client, transport } = connect(endpoint);
    const pending = client.call('sleep', [5000, 'x']);
    await delay(20);
    await transport.close();
    await expect(pending).rejects.toBeInstanceOf(TransportError);
    await expect(transport.send('late')).rejects.toBeInstanceOf(TransportError);
    // Closing twice is harmless.
    await transport.close();
  });

  it('refuses a request over maxMessageSize at once, naming the limit', async () => {
    const { endpoint } = await startServer();
    const { client } = connect(endpoint, { maxMessageSize: 1000 });
    await expect(client.call('echo', ['x'.repeat(2000)])).rejects.toSatisfy(
      (e) =>
        TransportError.is(e) && /over the limit of 1000 bytes \(maxMessageSize\)/.test(e.message),
    );
    expect(client.pendingCount).toBe(0);
    expect(await client.call('echo', ['x'.repeat(500)])).toHaveLength(500);
  });

  it('fails pending calls with a TransportError naming the limit when a reply is over maxMessageSize', async () => {
    const { endpoint } = await startServer(textDispatcher());
    const { client } = connect(endpoint, { maxMessageSize: 1000 }, { timeout: 1000 });
    const started = performance.now();
    await expect(client.call('text', [2000])).rejects.toSatisfy(
      (e) =>
        TransportError.is(e) && /over the limit of 1000 bytes \(maxMessageSize\)/.test(e.message),
    );
    expect(performance.now() - started).toBeLessThan(2000);
    expect(client.pendingCount).toBe(0);
    // The connection stays: replies that fit get through.
    expect(await client.call('add', [1, 2])).toBe(3);
  });

  it('takes the one ReconnectOptions and reports no default timeout of its own', () => {
    const transport = new ZmqClientTransport('tcp://127.0.0.1:1', {
      reconnect: { initialDelay: 50, maxDelay: 400 },
    });
    defer(() => transport.close());
    expect(transport.defaultTimeout).toBeUndefined();
    expect(() => new ZmqClientTransport('tcp://127.0.0.1:1', { reconnect: { jitter: 2 } })).toThrow(
      RangeError,
    );
    expect(() => new ZmqClientTransport('tcp://127.0.0.1:1', { maxMessageSize: 0 })).toThrow(
      /maxMessageSize/,
    );
  });

  it('with reconnect: false, stays disconnected after the connection drops', async () => {
    const first = await startServer();
    const { client } = connect(
      first.endpoint,
      { reconnect: false, silenceTimeout: 500 },
      { timeout: 3000 },
    );
    expect(await client.call('add', [1, 1])).toBe(2);
    await first.server.close();
    await restartServerOn(first.endpoint);
    await delay(300);
    // Nothing reconnected: the call is never answered and the silence check ends it.
    await expect(client.call('add', [2, 2])).rejects.toBeInstanceOf(RpcTimeoutError);
  });

  it('rejects an endpoint ZeroMQ cannot parse', () => {
    expect(() => new ZmqReqClientTransport('nonsense')).toThrow(TransportError);
    expect(() => new ZmqClientTransport('nonsense')).toThrow(TransportError);
  });
});

describe('ZmqReqClientTransport (REQ)', () => {
  it('is a request/reply transport: no subscribe, send resolves the reply', async () => {
    const { endpoint } = await startServer();
    const { client, transport } = connect(endpoint, { mode: 'req' });
    expect(transport.kind).toBe('request-reply');
    expect('subscribe' in transport).toBe(false);
    expect(await client.call('add', [1, 2])).toBe(3);
    const reply = await transport.send('{"jsonrpc":"2.0","method":"add","params":[2,2],"id":1}');
    expect(JSON.parse(Buffer.from(reply as Uint8Array).toString())).toMatchObject({ result: 4 });
  });

  it('makes one call at a time and queues the rest', async () => {
    let running = 0;
    let most = 0;
    const dispatcher = new RpcDispatcher().add('work', async (n: number) => {
      most = Math.max(most, ++running);
      await delay(5);
      running--;
      return n * 2;
    });
    const { endpoint } = await startServer(dispatcher);
    const { client } = connect(endpoint, { mode: 'req' });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.call('work', [i])),
    );
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i * 2));
    expect(most).toBe(1);
  });

  it('replaces a socket whose reply never came, so the next call works', async () => {
    const { socket, endpoint } = await rawRouter();
    const { client } = connect(endpoint, { mode: 'req', defaultTimeout: 300 });
    const first = client.call('add', [1, 2]);
    // The first request is answered only after its call timed out, the second at once.
    const [identity1, , body1] = (await socket.receive()) as [Buffer, Buffer, Buffer];
    await expect(first).rejects.toBeInstanceOf(RpcTimeoutError);
    const second = client.call('add', [2, 3]);
    const [identity2, , body2] = (await socket.receive()) as [Buffer, Buffer, Buffer];
    expect(identity2.equals(identity1)).toBe(false);
    const answer = (body: Buffer, result: number): string =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: (JSON.parse(body.toString()) as { id: number }).id,
        result,
      });
    await socket.send([identity1, '', answer(body1, 3)]);
    await socket.send([identity2, '', answer(body2, 5)]);
    expect(await second).toBe(5);
  });

  it('a signal ends a waiting or queued call and leaves the transport usable', async () => {
    const { endpoint } = await startServer();
    const { client } = connect(endpoint, { mode: 'req' });
    const controller = new AbortController();
    const running = client.call('sleep', [5000, 'x'], { signal: controller.signal });
    const queued = client.call('add', [1, 1], { signal: controller.signal });
    await delay(50);
    controller.abort(new Error('stop'));
    await expect(running).rejects.toThrow('stop');
    await expect(queued).rejects.toThrow('stop');
    expect(await client.call('add', [2, 2])).toBe(4);
  });

  it('times out cleanly against an endpoint nobody binds, every time', async () => {
    const { client, transport } = connect(await unboundEndpoint(), {
      mode: 'req',
      defaultTimeout: 200,
    });
    const started = performance.now();
    await expect(client.call('add', [1, 2])).rejects.toBeInstanceOf(RpcTimeoutError);
    await expect(client.call('add', [1, 2])).rejects.toBeInstanceOf(RpcTimeoutError);
    expect(performance.now() - started).toBeLessThan(1500);
    await transport.close();
  });

  it('collects the empty answer a server of this library sends to a notification', async () => {
    const seen: string[] = [];
    const { endpoint } = await startServer(
      testDispatcher().add('note', (s: string) => seen.push(s)),
    );
    const { client } = connect(endpoint, { mode: 'req', notificationWait: 5000 });
    const started = performance.now();
    await client.notify('note', ['a']);
    expect(await client.call('add', [1, 2])).toBe(3);
    await client.notify('note', ['b']);
    await client.notify('note', ['c']);
    expect(await client.call('add', [2, 2])).toBe(4);
    // No notificationWait was spent: each answer arrived at once.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('gets past a server that answers notifications with nothing', async () => {
    const { socket, endpoint } = await rawRouter();
    const { client } = connect(endpoint, { mode: 'req', notificationWait: 200 });
    await client.notify('note', ['a']);
    const call = client.call('add', [1, 2]);
    const notification = await socket.receive();
    expect(JSON.parse(String(notification[2]))).toMatchObject({ method: 'note' });
    // The call comes on a fresh socket once the wait is over; it is answered normally.
    const [identity, , body] = (await socket.receive()) as [Buffer, Buffer, Buffer];
    expect(identity.equals(notification[0] as Buffer)).toBe(false);
    const id = (JSON.parse(body.toString()) as { id: number }).id;
    await socket.send([identity, '', JSON.stringify({ jsonrpc: '2.0', id, result: 3 })]);
    expect(await call).toBe(3);
  });

  it('suggests a 30 s default timeout, and fails a reply over maxMessageSize', async () => {
    const { endpoint } = await startServer(textDispatcher());
    const { client, transport } = connect(endpoint, { mode: 'req', maxMessageSize: 1000 });
    expect(transport.defaultTimeout).toBe(30_000);
    await expect(client.call('text', [2000])).rejects.toSatisfy(
      (e) =>
        TransportError.is(e) && /over the limit of 1000 bytes \(maxMessageSize\)/.test(e.message),
    );
    await expect(client.call('echo', ['x'.repeat(2000)])).rejects.toSatisfy(
      (e) => TransportError.is(e) && /maxMessageSize/.test(e.message),
    );
    expect(await client.call('add', [1, 2])).toBe(3);
  });

  it('close() fails the running and the queued calls with TransportError', async () => {
    const { endpoint } = await startServer();
    const { client, transport } = connect(endpoint, { mode: 'req' });
    const running = client.call('sleep', [5000, 'x']);
    const queued = client.call('add', [1, 1]);
    await delay(50);
    await transport.close();
    await expect(running).rejects.toBeInstanceOf(TransportError);
    await expect(queued).rejects.toBeInstanceOf(TransportError);
    await expect(client.call('add', [1, 1])).rejects.toBeInstanceOf(TransportError);
  });
});

describe('ZmqClientTransport and ZmqReqClientTransport and a restarted server', () => {
  it.each(['dealer', 'req'] as const)(
    'the %s client keeps working across a server restart',
    async (mode) => {
      const first = await startServer();
      const endpoint = first.endpoint;
      const { client } = connect(endpoint, { mode, silenceTimeout: 1000 }, { timeout: 1000 });
      const outcomes: string[] = [];
      const state = { restarted: false };
      let afterRestart = 0;
      const calling = (async () => {
        const deadline = performance.now() + 8000;
        for (let i = 0; performance.now() < deadline && afterRestart < 20; i++) {
          try {
            expect(await client.call('add', [i, 1])).toBe(i + 1);
            outcomes.push('ok');
            if (state.restarted) afterRestart++;
          } catch (error) {
            // Calls caught by the restart fail as lost connection or timeout, nothing else.
            expect(error).toSatisfy(
              (e) => e instanceof TransportError || e instanceof RpcTimeoutError,
            );
            outcomes.push('failed');
          }
          await delay(5);
        }
      })();
      await delay(200);
      await first.server.close();
      await delay(200);
      await restartServerOn(endpoint);
      state.restarted = true;
      await calling;
      expect(afterRestart).toBe(20);
      expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(20);
      expect(client.pendingCount).toBe(0);
    },
  );
});
