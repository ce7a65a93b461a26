import { TransportError, type Message } from '@tinyrpc/core';
import { WebSocket } from 'ws';
import { batchedSender } from './batched-sender.ts';
import { closeWait, type ClientSocket, type OpenSocket } from './client-socket.ts';

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
    send(message: Message) {
      return new Promise<undefined>((resolve, reject) => {
        // Node calls back with null or undefined on success, whatever ws's types say.
        sender.send(message, (error) => {
          if (error) reject(new TransportError(`Sending to ${url} failed`, { cause: error }));
          else resolve(undefined);
        });
      });
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
