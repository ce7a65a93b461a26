import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TransportError } from '@tinyrpc/core';
import {
  Backoff,
  CreditWindow,
  deadlineOf,
  defaultLimits,
  defaultReconnect,
  describeError,
  InFlight,
  listenNodeServer,
  messageSize,
  raceSignal,
  reconnectOptions,
  streamCreditOf,
  tooLargeError,
} from '@tinyrpc/core/transport';

const deferred = <T = void>(): { promise: Promise<T>; resolve: (value: T) => void } => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('InFlight', () => {
  it('counts work until it settles and drains when none is left', async () => {
    const inFlight = new InFlight();
    await inFlight.drain(); // nothing running: at once
    const a = deferred();
    const b = deferred();
    const tracked = inFlight.track(a.promise);
    void inFlight
      .track(b.promise.then(() => Promise.reject(new Error('x'))))
      .catch(() => undefined);
    expect(inFlight.size).toBe(2);
    let drained = false;
    const drain = inFlight.drain().then(() => (drained = true));
    a.resolve();
    await tracked;
    expect(inFlight.size).toBe(1);
    expect(drained).toBe(false);
    b.resolve();
    await drain;
    expect(inFlight.size).toBe(0);
  });

  it('reports full at the limit, once, and available below it, once', async () => {
    const events: string[] = [];
    const inFlight = new InFlight({
      limit: 2,
      onFull: () => events.push('full'),
      onAvailable: () => events.push('available'),
    });
    const works = [deferred(), deferred(), deferred()];
    const tracked = works.map((w) => inFlight.track(w.promise));
    expect(inFlight.full).toBe(true);
    expect(events).toEqual(['full']);
    works[0]?.resolve();
    await tracked[0];
    expect(events).toEqual(['full']); // still 2 running
    works[1]?.resolve();
    await tracked[1];
    expect(events).toEqual(['full', 'available']);
    expect(inFlight.full).toBe(false);
    works[2]?.resolve();
    await inFlight.drain();
  });

  it('refuses a limit below 1', () => {
    expect(() => new InFlight({ limit: 0 })).toThrow(RangeError);
  });
});

describe('Backoff and reconnectOptions', () => {
  it('reads the option the same way on every transport', () => {
    expect(reconnectOptions(undefined, false)).toBeUndefined();
    expect(reconnectOptions(false, true)).toBeUndefined();
    expect(reconnectOptions(undefined, true)).toEqual(defaultReconnect);
    expect(reconnectOptions(true, false)).toEqual(defaultReconnect);
    expect(reconnectOptions({ retries: 3 }, false)).toEqual({ ...defaultReconnect, retries: 3 });
    expect(() => reconnectOptions({ jitter: 2 }, true)).toThrow(RangeError);
    expect(() => reconnectOptions({ initialDelay: 500, maxDelay: 100 }, true)).toThrow(RangeError);
  });

  it('doubles from initialDelay up to maxDelay, within the jitter, and gives up after retries', () => {
    const backoff = new Backoff({ retries: 6, initialDelay: 100, maxDelay: 1000, jitter: 0.5 });
    const delays = Array.from({ length: 7 }, () => backoff.next());
    const ceilings = [100, 200, 400, 800, 1000, 1000];
    ceilings.forEach((ceiling, i) => {
      expect(delays[i]).toBeLessThanOrEqual(ceiling);
      expect(delays[i]).toBeGreaterThanOrEqual(ceiling * 0.5);
    });
    expect(delays[6]).toBeUndefined();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(new Backoff({ jitter: 0 }).next()).toBe(100);
  });
});

describe('raceSignal', () => {
  it('settles as the work does and leaves no listener behind', async () => {
    const controller = new AbortController();
    let listeners = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    }) as typeof remove;
    await expect(raceSignal(Promise.resolve(1), signal)).resolves.toBe(1);
    await expect(raceSignal(Promise.reject(new Error('no')), signal)).rejects.toThrow('no');
    expect(listeners).toBe(0);
  });

  it('rejects with the reason as soon as the signal aborts, or at once if it has', async () => {
    const controller = new AbortController();
    const never = new Promise<never>(() => undefined);
    const raced = raceSignal(never, controller.signal);
    controller.abort(new TransportError('gone'));
    await expect(raced).rejects.toThrow('gone');
    await expect(raceSignal(never, controller.signal)).rejects.toThrow('gone');
    await expect(raceSignal(Promise.resolve(2), undefined)).resolves.toBe(2);
  });
});

describe('describeError, messageSize, tooLargeError', () => {
  it('describes anything thrown without throwing', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(
      'refused (ECONNREFUSED)',
    );
    const fetchFailure = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    expect(describeError(fetchFailure)).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(describeError('text')).toBe('text');
    expect(describeError(Object.create(null))).toBe('an error that cannot be described');
  });

  it('measures text as UTF-8 bytes', () => {
    expect(messageSize('abc')).toBe(3);
    expect(messageSize('é€😀')).toBe(2 + 3 + 4);
    expect(messageSize(new Uint8Array(7))).toBe(7);
  });

  it('names the size and the limit', () => {
    const error = tooLargeError(2_000_000, defaultLimits.maxMessageSize);
    expect(TransportError.is(error)).toBe(true);
    expect(error.message).toBe(
      'A message of 2000000 bytes is over the limit of 1048576 bytes (maxMessageSize)',
    );
    expect(tooLargeError(undefined, 10).message).toMatch(/^A message is over the limit of 10/);
  });
});

describe('deadlineOf and streamCreditOf read their headers in any case', () => {
  it('reads Tinyrpc-Deadline spelt any way, and refuses what is not a number of ms', () => {
    for (const name of [
      'Tinyrpc-Deadline',
      'tinyrpc-deadline',
      'TINYRPC-DEADLINE',
      'TinyRPC-Deadline',
    ])
      expect(deadlineOf({ headers: { other: 'x', [name]: '250' } }, 1000)).toBe(1250);
    expect(deadlineOf({ headers: { 'tinyrpc-deadline': ['40', '99'] } }, 0)).toBe(40);
    expect(deadlineOf({ headers: { 'Tinyrpc-Deadline': '-5' } }, 0)).toBeUndefined();
    expect(deadlineOf({ headers: { 'Tinyrpc-Deadline': '1e3' } }, 0)).toBeUndefined();
    expect(deadlineOf({ headers: {} }, 0)).toBeUndefined();
    expect(deadlineOf({ deadline: 7, headers: { 'Tinyrpc-Deadline': '1' } }, 0)).toBe(7);
  });

  it('reads Tinyrpc-Stream as a whole number from 1, in any case', () => {
    expect(streamCreditOf({ 'Tinyrpc-Stream': '64' })).toBe(64);
    expect(streamCreditOf({ 'TINYRPC-STREAM': '8' })).toBe(8);
    expect(streamCreditOf({ 'tinyrpc-stream': 16 })).toBe(16);
    for (const value of ['0', '-1', '1.5', 'lots', '', String(2 ** 31)])
      expect(streamCreditOf({ 'Tinyrpc-Stream': value })).toBeUndefined();
    expect(streamCreditOf({})).toBeUndefined();
    expect(streamCreditOf(undefined)).toBeUndefined();
  });
});

describe('CreditWindow', () => {
  it('takes credit while there is some, waits for a grant, and fails once ended', async () => {
    const window = new CreditWindow(2);
    await window.take();
    await window.take();
    expect(window.credit).toBe(0);
    let took = false;
    const waiting = window.take().then(() => {
      took = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(took).toBe(false);
    window.grant(0); // ignored
    window.grant(1.5); // ignored
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(took).toBe(false);
    window.grant(3);
    await waiting;
    expect(window.credit).toBe(2);
    window.end(new Error('gone'));
    await expect(window.take()).rejects.toThrow('gone');
  });

  it('ends a take that is waiting', async () => {
    const window = new CreditWindow(0);
    const waiting = window.take();
    window.end(new Error('caller gone'));
    await expect(waiting).rejects.toThrow('caller gone');
  });
});

describe('listenNodeServer', () => {
  it('listens on 127.0.0.1 by default and names the address it cannot take', async () => {
    const first = createServer();
    await listenNodeServer(first, { port: 0 });
    const address = first.address();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const second = createServer();
    const failure = await listenNodeServer(second, { port }).catch((error: unknown) => error);
    expect(TransportError.is(failure)).toBe(true);
    expect((failure as Error).message).toContain(`Could not listen on 127.0.0.1:${String(port)}`);
    expect((failure as Error).message).toContain('EADDRINUSE');
    await new Promise((resolve) => first.close(resolve));
  });
});
