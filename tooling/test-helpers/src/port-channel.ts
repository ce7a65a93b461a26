import type { MessagePort } from 'node:worker_threads';

type Message = string | Uint8Array;

/** The shape of `@tinyrpc/core`'s `CallbackChannel`, restated so this package needs no core. */
export interface PortChannel {
  send(message: Message): void;
  subscribe(listener: (message: Message) => void): () => void;
  onClose?(listener: (error?: Error) => void): () => void;
}

/**
 * A callback channel over one end of a `worker_threads` `MessageChannel`, for the callback
 * transports. With `reportClose`, the port's `close` event is reported through `onClose`.
 */
export function portChannel(
  port: MessagePort,
  options: { reportClose?: boolean } = {},
): PortChannel {
  const channel: PortChannel = {
    send(message) {
      port.postMessage(message);
    },
    subscribe(listener) {
      const onMessage = (message: Message): void => {
        listener(message);
      };
      port.on('message', onMessage);
      return () => port.off('message', onMessage);
    },
  };
  if (!options.reportClose) return channel;
  return {
    ...channel,
    onClose(listener) {
      const onClose = (): void => {
        listener();
      };
      port.once('close', onClose);
      return () => port.off('close', onClose);
    },
  };
}
