import { TransportError, type Message } from '@tinyrpc/core';

/**
 * The parts of a WHATWG `WebSocket` that {@link WsClientTransport} uses: a browser's `WebSocket`,
 * Node 22's global one, or the `WebSocket` class of the `ws` package all fit.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  /** Sends one frame: a string as text, bytes as binary. */
  send(data: string | Uint8Array<ArrayBuffer>): void;
  /** Closes the connection. */
  close(code?: number, reason?: string): void;
  /** Listens for the socket's events. */
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: unknown) => void,
  ): void;
}

/** A constructor of {@link WebSocketLike} sockets, such as `globalThis.WebSocket`. */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

/** Internal: an open connection as the client transport sees it, whichever library runs it. */
export interface ClientSocket {
  /** Resolves once the frame is handed to the network (Node) or queued by the platform (browsers). */
  send(message: Message): Promise<undefined>;
  /** Closes with `code`; resolves when the socket is closed (forcibly after a short wait). */
  close(code: number, reason: string): Promise<void>;
}

/** Internal: what an open connection reports. */
export interface SocketEvents {
  message(message: Message): void;
  close(code: number, reason: string, cause?: unknown): void;
}

/** Internal: opens one connection; rejects when it cannot be opened or `signal` aborts first. */
export type OpenSocket = (events: SocketEvents, signal: AbortSignal) => Promise<ClientSocket>;

/** How long `close()` waits for the peer's close frame before it stops waiting. */
export const closeWait = 1000;

interface MessageEventLike {
  readonly data: unknown;
}
interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}

// Binary frames arrive as ArrayBuffer (binaryType 'arraybuffer'); some implementations hand views.
function toMessage(data: unknown): Message {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return String(data);
}

/** Opens a connection with a WHATWG `WebSocket` constructor (browsers, or one given explicitly). */
export function openPlatformSocket(
  WebSocketClass: WebSocketConstructor,
  url: string,
  protocols: string | string[] | undefined,
): OpenSocket {
  return (events, signal) =>
    new Promise<ClientSocket>((resolve, reject) => {
      let opened = false;
      let closed = false;
      const whenClosed: (() => void)[] = [];
      const ws =
        protocols === undefined ? new WebSocketClass(url) : new WebSocketClass(url, protocols);
      ws.binaryType = 'arraybuffer';
      const onAbort = (): void => {
        ws.close();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ws.addEventListener('message', (event) => {
        events.message(toMessage((event as MessageEventLike).data));
      });
      ws.addEventListener('error', () => {
        // Browsers hide the reason of a failed connection; the close event that follows tells the rest.
      });
      ws.addEventListener('close', (closeEvent) => {
        const event = closeEvent as CloseEventLike;
        closed = true;
        for (const done of whenClosed) done();
        signal.removeEventListener('abort', onAbort);
        if (opened) events.close(event.code, event.reason);
        else
          reject(
            new TransportError(
              `WebSocket connection to ${url} failed (code ${String(event.code)})`,
              { data: { code: event.code, reason: event.reason } },
            ),
          );
      });
      ws.addEventListener('open', () => {
        opened = true;
        signal.removeEventListener('abort', onAbort);
        resolve({
          send(message) {
            // The platform queues the frame; it has no callback for when it is written.
            if (ws.readyState !== 1) {
              return Promise.reject(
                new TransportError(`WebSocket connection to ${url} is not open`),
              );
            }
            ws.send(message as string | Uint8Array<ArrayBuffer>);
            return Promise.resolve(undefined);
          },
          close(code, reason) {
            if (closed) return Promise.resolve();
            return new Promise<void>((done) => {
              const timer = setTimeout(done, closeWait);
              whenClosed.push(() => {
                clearTimeout(timer);
                done();
              });
              ws.close(code, reason);
            });
          },
        });
      });
    });
}
