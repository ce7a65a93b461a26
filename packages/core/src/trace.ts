import type { Message, TransportContext } from './types.ts';

/**
 * Which way a traced message travels, on both sides as in Python tinyrpc: `'-->'` from client to
 * server (a request: sent by a client, received by a server), `'<--'` from server to client (a reply).
 */
export type TraceDirection = '-->' | '<--';

/** Called with every raw message in and out, as Python tinyrpc's `trace`. */
export type TraceFunction = (
  direction: TraceDirection,
  context: TransportContext | undefined,
  message: Message,
) => void;
