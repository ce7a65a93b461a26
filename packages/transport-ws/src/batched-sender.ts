import type { Duplex } from 'node:stream';
import type { Message } from '@tinyrpc/core';
import type { WebSocket } from 'ws';

/** Internal: sends one frame; the callback runs once it is written (or failed). */
export type FrameSender = (message: Message, callback?: (error?: Error | null) => void) => void;

/**
 * Internal: a sender for `ws` that coalesces the frames sent within one tick into one write. The
 * socket is corked at the first send of a tick and uncorked on the next one: without this every
 * small frame costs a system call of its own, which with many calls in flight is most of the CPU
 * time. ws's own per-frame cork/uncork nests inside ours.
 */
export function batchedSender(ws: WebSocket): FrameSender {
  // `_socket` is ws's documented-by-use handle on the TCP socket; without it, send frame by frame.
  const socket = (ws as unknown as { _socket?: Duplex | null })._socket;
  if (socket === undefined || socket === null || typeof socket.cork !== 'function') {
    return (message, callback) => {
      ws.send(message, callback);
    };
  }
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  return (message, callback) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    ws.send(message, callback);
  };
}
