import type { Duplex } from 'node:stream';
import type { Message } from '@tinyrpc/core';
import type { WebSocket } from 'ws';

/** Internal: sends the frames of one connection; see {@link batchedSender}. */
export interface FrameSender {
  /** Sends one frame; the callback runs once it is written (or failed). */
  send(message: Message, callback?: (error?: Error | null) => void): void;
  /**
   * Bytes queued before the frames of the current tick and not yet taken by the network: what the
   * peer has left unread, not counting what this tick is still collecting.
   */
  readonly backlog: number;
}

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
    return {
      send(message, callback) {
        ws.send(message, callback);
      },
      get backlog() {
        return ws.bufferedAmount;
      },
    };
  }
  let corked = false;
  let before = 0;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  return {
    send(message, callback) {
      if (!corked) {
        before = ws.bufferedAmount;
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      ws.send(message, callback);
    },
    get backlog() {
      return corked ? before : ws.bufferedAmount;
    },
  };
}
