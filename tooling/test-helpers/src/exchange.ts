// Structural, so the helpers need no dependency on @tinyrpc/core (which depends on them).
type Message = string | Uint8Array;
interface Connection {
  send(message: Message): Promise<unknown>;
  subscribe(listener: {
    onMessage(message: Message): void;
    onClose(error: Error): void;
  }): () => void;
}

/**
 * Sends `message` on `connection` and resolves with the next message that arrives on it, or
 * `undefined` when none comes within `waitMs` (a notification): raw request/reply over a connection.
 */
export function exchange(
  connection: Connection,
  message: Message,
  waitMs = 200,
): Promise<Message | undefined> {
  return new Promise((resolve, reject) => {
    const done = (value: Message | undefined): void => {
      clearTimeout(timer);
      stop();
      resolve(value);
    };
    const timer = setTimeout(() => {
      done(undefined);
    }, waitMs);
    const stop = connection.subscribe({
      onMessage: done,
      onClose: (error) => {
        clearTimeout(timer);
        stop();
        reject(error);
      },
    });
    connection.send(message).catch((error: unknown) => {
      clearTimeout(timer);
      stop();
      reject(error);
    });
  });
}
