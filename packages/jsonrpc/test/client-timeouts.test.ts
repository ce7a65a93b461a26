// RpcClient's timeouts: one timer per client (a deadline sweep), and a call signal made only when
// the transport reads it. A connection that records what it is given and never answers.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  RpcClient,
  RpcTimeoutError,
  type Connection,
  type Message,
  type SendOptions,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';

afterEach(() => {
  vi.useRealTimers();
});

/** A connection that takes every message and answers none; `sent` holds each send's options. */
function silentConnection(): Connection & { readonly sent: SendOptions[] } {
  const sent: SendOptions[] = [];
  return {
    specificationVersion: 1,
    kind: 'connection',
    sent,
    // Nothing ever arrives: the listener is not kept.
    subscribe: (): (() => void) => () => undefined,
    send(_message: Message, options: SendOptions = {}) {
      sent.push(options);
      return Promise.resolve();
    },
  };
}

const outcome = (call: Promise<unknown>): Promise<unknown> =>
  call.then(
    () => 'resolved',
    (error: unknown) => error,
  );

describe('RpcClient timeouts', () => {
  it('keep one timer for many calls, and each call fails with RpcTimeoutError on time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const client = new RpcClient(new JsonRpcProtocol(), silentConnection(), { timeout: 1000 });
    const calls = Array.from({ length: 100 }, (_, i) => outcome(client.call('hang', [i])));
    expect(vi.getTimerCount()).toBe(1);
    expect(client.pendingCount).toBe(100);
    vi.advanceTimersByTime(990);
    expect(client.pendingCount).toBe(100);
    vi.advanceTimersByTime(10);
    const errors = await Promise.all(calls);
    for (const error of errors) expect(error).toBeInstanceOf(RpcTimeoutError);
    expect(client.pendingCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fail a call with a shorter timeout on its own time while longer ones wait', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const client = new RpcClient(new JsonRpcProtocol(), silentConnection());
    const long = outcome(client.call('hang', [], { timeout: 10_000 }));
    const short = outcome(client.call('hang', [], { timeout: 100 }));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100);
    expect(await short).toBeInstanceOf(RpcTimeoutError);
    expect(client.pendingCount).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(9900);
    expect(await long).toBeInstanceOf(RpcTimeoutError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hand the transport a signal made when read, which aborts with the timeout and survives a spread', async () => {
    const transport = silentConnection();
    const client = new RpcClient(new JsonRpcProtocol(), transport, { timeout: 20 });
    const error = await outcome(client.call('hang'));
    expect(error).toBeInstanceOf(RpcTimeoutError);
    const [options] = transport.sent as [SendOptions];
    // Not read yet: an accessor, no AbortSignal made.
    expect(typeof Object.getOwnPropertyDescriptor(options, 'signal')?.get).toBe('function');
    expect(options.deadline).toBeTypeOf('number');
    // Read after the call failed, it is aborted with the call's error at once.
    const copy = { ...options };
    expect(copy.signal?.aborted).toBe(true);
    expect(copy.signal?.reason).toBe(error);
    expect(options.signal).toBe(copy.signal);
  });

  it('hand a signal read while the call waits, and abort it when the call times out', async () => {
    const transport = silentConnection();
    const client = new RpcClient(new JsonRpcProtocol(), transport, { timeout: 20 });
    const call = outcome(client.call('hang'));
    const signal = (transport.sent[0] as SendOptions).signal as AbortSignal;
    expect(signal.aborted).toBe(false);
    const error = await call;
    expect(error).toBeInstanceOf(RpcTimeoutError);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(error);
  });

  it("hand on the caller's own signal when the call has no timeout", async () => {
    const transport = silentConnection();
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    const controller = new AbortController();
    const call = outcome(client.call('hang', [], { signal: controller.signal }));
    expect((transport.sent[0] as SendOptions).signal).toBe(controller.signal);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(await call).toBe(reason);
    expect(client.pendingCount).toBe(0);
  });
});
