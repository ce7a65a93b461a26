import { TransportError, type Message } from '@tinyrpc/core';
import { WebSocket } from 'ws';
import { batchedSender } from './batched-sender.ts';
import { closeWait, type ClientSocket, type OpenSocket } from './client-socket.ts';

const sent: Promise<undefined> = Promise.resolve(undefined);

/** Internal: the settings of a connection made with the `ws` package. */
export interface NodeSocketOptions {
  readonly protocols: string | string[] | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly maxPayload: number | undefined;
  readonly perMessageDeflate: boolean;
}

/** Opens connections with the `ws` package, using its event emitter API (no event objects). */
export function openNodeSocket(url: string, options: NodeSocketOptions): OpenSocket {
  return (events, signal) =>
    new Promise<ClientSocket>((resolve, reject) => {
      const ws = new WebSocket(url, options.protocols, {
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
        perMessageDeflate: options.perMessageDeflate,
      });
      let failure: unknown;
      let opened = false;
      const onAbort = (): void => {
        ws.terminate();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // ws emits 'error' before 'close' and throws when nobody listens; the close handler reports it.
      ws.on('error', (error) => {
        failure = error;
      });
      ws.once('close', (code: number, reason: Buffer) => {
        signal.removeEventListener('abort', onAbort);
        if (opened) {
          events.close(code, reason.toString(), failure);
        } else {
          reject(
            new TransportError(`WebSocket connection to ${url} failed`, {
              cause: failure,
              data: { code, reason: reason.toString() },
            }),
          );
        }
      });
      ws.once('open', () => {
        opened = true;
        signal.removeEventListener('abort', onAbort);
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          events.message(
            isBinary
              ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
              : data.toString(),
          );
        });
        resolve(nodeSocket(ws, url));
      });
    });
}

function nodeSocket(ws: WebSocket, url: string): ClientSocket {
  const sender = batchedSender(ws);
  return {
    // Resolves once the frame is handed to ws, not once the kernel took it: replies are matched by
    // id anyway, and a write that fails closes the socket, which fails every pending call at once.
    // Waiting for ws's write callback cost about a microsecond per call for nothing.
    send(message: Message) {
      if (ws.readyState !== WebSocket.OPEN) {
        return Promise.reject(new TransportError(`The WebSocket to ${url} is not open`));
      }
      sender.send(message);
      return sent;
    },
    close(code, reason) {
      if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
        }, closeWait);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.close(code, reason);
      });
    },
  };
}
