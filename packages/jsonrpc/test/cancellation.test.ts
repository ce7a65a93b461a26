// Cancellation and deadlines that reach the handler: `$/cancelRequest` on connections (memory and
// a MessageChannel), maxDuration, and deadlines read from the Tinyrpc-Deadline header.
import {
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  RequestCancelledError,
  createMemoryTransport,
  deadlineHeader,
  type CallContext,
} from '@tinyrpc/core';
import { describe, expect, it } from 'vitest';
import { JsonRpcProtocol } from '../src/index.ts';
import { createChannelPair, deferred } from './channel-pair.ts';

const protocol = new JsonRpcProtocol();

/** A dispatcher whose `hang` runs until its signal aborts, recording each abort's reason. */
function hanging() {
  const started: AbortSignal[] = [];
  const aborted: unknown[] = [];
  const dispatcher = new RpcDispatcher().add(
    'hang',
    (context: CallContext) =>
      new Promise((_, reject) => {
        started.push(context.signal);
        context.signal.addEventListener('abort', () => {
          aborted.push(context.signal.reason);
          reject(context.signal.reason as Error);
        });
      }),
    { context: true },
  );
  dispatcher.add('quick', () => 'done');
  return { dispatcher, started, aborted };
}

describe('$/cancelRequest on a connection', () => {
  for (const [name, makePair] of [
    ['memory', () => createMemoryTransport()],
    ['callback (MessageChannel)', () => createChannelPair()],
  ] as const) {
    it(`${name}: the caller's abort and timeout abort the handler's signal`, async () => {
      const pair = makePair();
      const { dispatcher, started, aborted } = hanging();
      const server = new RpcServer(pair.server, protocol, dispatcher);
      await server.serve();
      const client = new RpcClient(protocol, pair.client);
      const controller = new AbortController();
      const call = client.call('hang', [], { signal: controller.signal });
      await expect.poll(() => started.length).toBe(1);
      controller.abort(new Error('user gave up'));
      await expect(call).rejects.toThrow('user gave up');
      await expect.poll(() => aborted.length).toBe(1);
      expect(RequestCancelledError.is(aborted[0])).toBe(true);

      await expect(client.call('hang', [], { timeout: 30 })).rejects.toThrow(/timed out/);
      await expect.poll(() => aborted.length).toBe(2);
      await expect(client.call('quick')).resolves.toBe('done');
      await client.close();
      await server.close();
    });
  }

  it('a cancelled call still answered gets -32800; an unknown id is ignored', async () => {
    const { client: connection, server: serverTransport } = createMemoryTransport();
    const gate = deferred();
    const dispatcher = new RpcDispatcher().add('slow', async () => {
      await gate.promise;
      return 'late result';
    });
    const server = new RpcServer(serverTransport, protocol, dispatcher);
    await server.serve();
    const replies: unknown[] = [];
    connection.subscribe({
      onMessage: (message) => replies.push(JSON.parse(message as string)),
      onClose: () => undefined,
    });
    await connection.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'slow' }));
    const cancel = (id: number) =>
      connection.send(
        JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } }),
      );
    await cancel(99); // no such call: ignored, no answer
    await cancel(1);
    gate.resolve();
    await expect
      .poll(() => replies)
      .toEqual([{ jsonrpc: '2.0', id: 1, error: { code: -32800, message: 'Request cancelled' } }]);
    await server.close();
  });

  it('a peer cancels the calls it makes, and a server-side peer cancels its calls to the client', async () => {
    const pair = createMemoryTransport();
    const own = hanging();
    const serverMethods = new RpcDispatcher().add(
      'askClient',
      (context: CallContext) => context.peer?.call('hang', [], { timeout: 30 }),
      { context: true },
    );
    const server = new RpcServer(pair.server, protocol, serverMethods);
    await server.serve();
    const peer = new RpcPeer(pair.client, protocol, { dispatcher: own.dispatcher });
    const error = (await peer.call('askClient').catch((e: unknown) => e)) as RemoteError;
    expect(RemoteError.is(error)).toBe(true);
    expect(error.message).toMatch(/timed out/);
    await expect.poll(() => own.aborted.length).toBe(1);
    expect(RequestCancelledError.is(own.aborted[0])).toBe(true);
    await peer.close();
    await server.close();
  });

  it('10,000 cancelled calls leave no pending call, timer or listener behind', async () => {
    const pair = createMemoryTransport();
    const { dispatcher, aborted } = hanging();
    const server = new RpcServer(pair.server, protocol, dispatcher);
    await server.serve();
    const client = new RpcClient(protocol, pair.client);
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const total = 10_000;
    for (let round = 0; round < total / 1000; round++) {
      const controllers = Array.from({ length: 1000 }, () => new AbortController());
      const calls = controllers.map((c) =>
        client.call('hang', [], { signal: c.signal, timeout: 60_000 }).catch(() => 'cancelled'),
      );
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (const c of controllers) c.abort(new Error('stop'));
      expect(new Set(await Promise.all(calls))).toEqual(new Set(['cancelled']));
    }
    await expect.poll(() => aborted.length, { timeout: 10_000 }).toBe(total);
    expect(client.pendingCount).toBe(0);
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
    await client.close();
    await server.close();
  });
});

describe('deadlines and maxDuration', () => {
  it('maxDuration aborts the handler and answers -32800 at once', async () => {
    const { client: connection, server: serverTransport } = createMemoryTransport();
    const { dispatcher, aborted } = hanging();
    const server = new RpcServer(serverTransport, protocol, dispatcher, { maxDuration: 50 });
    await server.serve();
    const client = new RpcClient(protocol, connection);
    const started = Date.now();
    const error = (await client.call('hang').catch((e: unknown) => e)) as RemoteError;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.code).toBe(-32800);
    expect(error.message).toMatch(/maxDuration of 50 ms/);
    expect(aborted).toHaveLength(1);
    await expect(client.call('quick')).resolves.toBe('done');
    await client.close();
    await server.close();
  });

  it('a Tinyrpc-Deadline header sets context.deadline and aborts the signal then; a passed one is not run', async () => {
    let seenDeadline: number | undefined;
    const runs: string[] = [];
    const dispatcher = new RpcDispatcher().add(
      'wait',
      (context: CallContext) =>
        new Promise((resolve) => {
          runs.push('wait');
          seenDeadline = context.deadline;
          context.signal.addEventListener('abort', () => {
            resolve('stopped at the deadline');
          });
        }),
      { context: true },
    );
    const { server: serverTransport } = createMemoryTransport();
    const server = new RpcServer(serverTransport, protocol, dispatcher);
    const request = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'wait' });
    const before = Date.now();
    const reply = await server.handle(request(1), { headers: { [deadlineHeader]: '40' } });
    expect(JSON.parse(reply as string)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: 'stopped at the deadline',
    });
    expect(seenDeadline).toBeGreaterThanOrEqual(before + 40);
    const late = await server.handle(request(2), { deadline: Date.now() - 1 });
    expect(JSON.parse(late as string)).toMatchObject({ id: 2, error: { code: -32800 } });
    expect(runs).toEqual(['wait']);
  });

  it('a call with a timeout hands the transport its deadline', async () => {
    const seen: (number | undefined)[] = [];
    const client = new RpcClient(protocol, {
      specificationVersion: 1,
      kind: 'request-reply',
      send: async (message, options) => {
        seen.push(options?.deadline);
        const { id } = JSON.parse(message as string) as { id: number };
        return JSON.stringify({ jsonrpc: '2.0', id, result: true });
      },
    });
    const before = Date.now();
    await client.call('a', [], { timeout: 5000 });
    await client.call('b');
    expect(seen[0]).toBeGreaterThanOrEqual(before + 5000);
    expect(seen[1]).toBeUndefined();
  });
});
