// The URL schemes `tinyrpc` understands, one line each. A transport package is imported only when its
// scheme is used, so `tinyrpc call http://…` never loads ZeroMQ or amqplib.
import type { ClientTransport } from '@tinyrpc/core';
import { UsageError } from './usage-error.ts';

/** The command-line flags a transport may need besides its URL. */
export interface TransportFlags {
  /** Streams (`tcp:`, `unix:`): how messages are delimited. */
  readonly framing?: 'content-length' | 'newline' | undefined;
  /** ZeroMQ: a strict REQ socket instead of a DEALER. */
  readonly req?: boolean | undefined;
}

/** Opens a client transport for a URL, importing its transport package on first use. */
export type TransportLoader = (url: URL, flags: TransportFlags) => Promise<ClientTransport>;

/** Client transports by URL scheme (`URL.protocol`, colon included). */
export const schemes: Readonly<Record<string, TransportLoader>> = {
  'http:': async (url) => new (await import('@tinyrpc/transport-http')).HttpClientTransport(url),
  'https:': async (url) => new (await import('@tinyrpc/transport-http')).HttpClientTransport(url),
  'ws:': async (url) => new (await import('@tinyrpc/transport-ws')).WsClientTransport(url),
  'wss:': async (url) => new (await import('@tinyrpc/transport-ws')).WsClientTransport(url),
  'tcp:': async (url, { framing }) =>
    new (await import('@tinyrpc/transport-stream')).StreamClientTransport({
      host: hostOf(url),
      port: portOf(url),
      framing,
    }),
  'unix:': async (url, { framing }) =>
    new (await import('@tinyrpc/transport-stream')).StreamClientTransport({
      path: url.pathname,
      framing,
    }),
  'zmq+tcp:': async (url, { req }) => {
    const zmq = await import('@tinyrpc/transport-zmq');
    return req
      ? new zmq.ZmqReqClientTransport(`tcp://${url.host}`)
      : new zmq.ZmqClientTransport(`tcp://${url.host}`);
  },
  'amqp:': async (url) => rabbitMq(url),
  'amqps:': async (url) => rabbitMq(url),
  'nats:': async (url) => nats(url),
};

function hostOf(url: URL): string {
  // An IPv6 host comes in brackets, which sockets do not take.
  return url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
}

function portOf(url: URL): number {
  const port = Number(url.port);
  if (url.port === '' || !Number.isInteger(port)) {
    throw new UsageError(`${url.href}: a ${url.protocol}// URL needs a port (tcp://host:port)`);
  }
  return port;
}

// amqp://user:password@host:port/vhost?queue=name: the queue is ours, the rest is amqplib's.
async function rabbitMq(url: URL): Promise<ClientTransport> {
  const queue = url.searchParams.get('queue');
  if (queue === null || queue === '') {
    throw new UsageError(`${url.href}: say which queue to call: ${url.protocol}//host/?queue=name`);
  }
  const broker = new URL(url.href);
  broker.searchParams.delete('queue');
  const { RabbitMqClientTransport } = await import('@tinyrpc/transport-rabbitmq');
  return new RabbitMqClientTransport({ url: broker.href, routingKey: queue });
}

// nats://host:port?subject=name: the subject is ours, the address the NATS client's.
async function nats(url: URL): Promise<ClientTransport> {
  const subject = url.searchParams.get('subject');
  if (subject === null || subject === '') {
    throw new UsageError(`${url.href}: say which subject to call: nats://host:port?subject=name`);
  }
  const { NatsClientTransport } = await import('@tinyrpc/transport-nats');
  return new NatsClientTransport({ servers: `${hostOf(url)}:${url.port || '4222'}`, subject });
}
