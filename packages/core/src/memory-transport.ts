import { clientTransportBrand, serverTransportBrand, setBrand } from './brand.ts';
import { TransportError } from './errors.ts';
import { InFlight } from './transport/in-flight.ts';
import type {
  ClientTransport,
  Message,
  MessageHandler,
  SendOptions,
  ServerTransport,
} from './types.ts';

/** The two ends of {@link createMemoryTransport}. */
export interface MemoryTransportPair {
  readonly client: ClientTransport;
  readonly server: ServerTransport;
}

const context = Object.freeze({ transport: 'memory' });

// Bytes are copied on the way, as a real transport would, so neither side sees the other's changes.
const copy = (message: Message): Message =>
  typeof message === 'string' ? message : new Uint8Array(message);

/**
 * A connected client and server transport in one process: for tests, and for running a service
 * in-process behind the same interface as a remote one.
 *
 * A send before the server listens, or after it closed, fails with a {@link TransportError}.
 */
export function createMemoryTransport(): MemoryTransportPair {
  let handler: MessageHandler | undefined;
  const inFlight = new InFlight();

  const server: ServerTransport = {
    listen(newHandler) {
      if (handler !== undefined) return Promise.reject(new Error('Already listening'));
      handler = newHandler;
      return Promise.resolve();
    },
    async close() {
      handler = undefined;
      await inFlight.drain();
    },
  };
  setBrand(server, serverTransportBrand);

  const client: ClientTransport = {
    async send(message: Message, options: SendOptions = {}) {
      options.signal?.throwIfAborted();
      if (handler === undefined) throw new TransportError('The memory server is not listening');
      const data = await inFlight.track(handler(copy(message), context));
      return options.expectReply === false || data === undefined ? undefined : copy(data);
    },
  };
  setBrand(client, clientTransportBrand);

  return { client, server };
}
