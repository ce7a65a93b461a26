import type { Message, ReconnectOptions, TransportError } from '@tinyrpc/core';
import { messageSize, tooLargeError } from '@tinyrpc/core/transport';

/** The zeromq socket options that carry a reconnect policy. */
export interface ReconnectSettings {
  readonly reconnectInterval: number;
  readonly reconnectMaxInterval: number;
}

/**
 * ZeroMQ reconnects by itself: `initialDelay` is its first interval, doubled up to `maxDelay`;
 * `undefined` (reconnect off) turns its reconnecting off (-1). ZeroMQ has no retry count or jitter.
 */
export function reconnectSettings(
  reconnect: Required<ReconnectOptions> | undefined,
): ReconnectSettings {
  if (reconnect === undefined) return { reconnectInterval: -1, reconnectMaxInterval: 0 };
  return {
    reconnectInterval: Math.round(reconnect.initialDelay),
    reconnectMaxInterval: Math.round(reconnect.maxDelay),
  };
}

/** The error for a message over `limit`, or `undefined` when it fits. */
export function checkSize(message: Message, limit: number): TransportError | undefined {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no measuring, on the hot path.
  if (typeof message === 'string' && message.length * 3 <= limit) return undefined;
  const size = messageSize(message);
  return size > limit ? tooLargeError(size, limit) : undefined;
}
