// The page's script in the browser test, bundled by esbuild for the browser: calls from the page
// that the test aborts (by a signal, by a timeout) while the Node handler waits, and streams the
// page iterates.
import { RpcClient } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpClientTransport } from '@tinyrpc/transport-http';

interface Outcome {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly name?: string;
  readonly message?: string;
}

const settle = (promise: Promise<unknown>): Promise<Outcome> =>
  promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => {
      const e = error as { name?: string; message?: string };
      return { ok: false, name: e.name, message: e.message };
    },
  );

let client: RpcClient | undefined;
let controller: AbortController | undefined;
let pending: Promise<Outcome> | undefined;

const page = globalThis as unknown as Record<string, unknown>;

/** Starts a call the test aborts with {@link abortCall}. */
page['startCall'] = (url: string): void => {
  client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
  controller = new AbortController();
  pending = settle(client.call('wait', ['signal'], { signal: controller.signal }));
};

/** Aborts the call {@link startCall} began, and resolves with its outcome. */
page['abortCall'] = (): Promise<Outcome> => {
  controller?.abort(new Error('aborted in the page'));
  return pending ?? Promise.reject(new Error('no call started'));
};

/** A call with a timeout: its deadline travels, and the page gives up when it passes. */
page['timedCall'] = (url: string, timeout: number): Promise<Outcome> =>
  settle(
    new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url)).call('wait', ['timeout'], {
      timeout,
    }),
  );

/** Iterates a stream from the Node server, and breaks out of the loop at `breakAt`. */
page['streamTicks'] = async (url: string, breakAt: number): Promise<Outcome> => {
  const items: number[] = [];
  const streaming = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
  return settle(
    (async () => {
      for await (const tick of streaming.stream<number>('ticks', [], { highWaterMark: 4 })) {
        items.push(tick);
        if (tick === breakAt) break;
      }
      return items;
    })(),
  );
};

/** Iterates a stream that ends by itself: all its items, then the end. */
page['streamAll'] = (url: string, to: number): Promise<Outcome> => {
  const streaming = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
  return settle(
    (async () => {
      const items: number[] = [];
      for await (const item of streaming.stream<number>('count', [to])) items.push(item);
      return items;
    })(),
  );
};

page['ready'] = true;
