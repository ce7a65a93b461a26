// The conformance kit, run exactly as a third party would: through the package's public entry.
import { afterAll, describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import { tcpRelay } from '@tinyrpc/test-helpers';
import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
import { brokerAvailable, deleteQueues, uniqueQueue, url } from './integration/broker.ts';

const available = await brokerAvailable();
afterAll(deleteQueues);

// Raised from the default 1 MiB on both sides so that the kit's 1 MB round trips (1.36 MB as JSON)
// fit. The client refuses a bigger request with a TransportError before publishing it; the server
// answers one from another peer with an error response (test/integration/rabbitmq.test.ts).
//
// `maxInFlight` is not claimed: it is each server's prefetch, and every client's calls wait in one
// queue, first come first served, so one client's flood delays the calls of others until servers
// take them. More servers on the queue, not a per-client limit, are what serve others meanwhile.
const maxMessageSize = 2 * 1024 * 1024;

/** A relay in front of the broker, so the test can cut every AMQP connection while it runs. */
async function relayToBroker(): Promise<{ url: string; sever(): void; close(): Promise<void> }> {
  const relay = await tcpRelay(() => 5672);
  return { url: `amqp://guest:guest@127.0.0.1:${String(relay.port)}`, ...relay };
}

// Calls wait in a queue, which outlives the server: a call sent after the server closed stays
// queued for a server to come until its timeout (README, Client: "No server"), so
// `detectsServerGone` is not claimed. Replies arrive as bytes (text may, by the kit's rules).
for (const replyTo of ['direct', 'exclusive'] as const) {
  const what = replyTo === 'direct' ? 'direct reply-to' : 'exclusive callback queue';
  describe.skipIf(!available)(`RabbitMQ, ${what}`, () => {
    runTransportConformance(
      { describe, it },
      {
        name: `RabbitMQ, ${what}`,
        createFixture() {
          const queue = uniqueQueue('conformance');
          return {
            server: new RabbitMqServerTransport({ url, queue, maxMessageSize }),
            connect: () =>
              new RabbitMqClientTransport({ url, routingKey: queue, replyTo, maxMessageSize }),
          };
        },
        capabilities: {
          cancellation: true,
          detectsServerGone: false,
          maxMessageSize,
          limits: true,
          streams: true,
        },
      },
    );

    // Every AMQP connection goes through a relay the test severs: the client fails its calls in
    // flight with a TransportError and connects again on the next call; the server reconnects
    // by itself (README, "Lost connection").
    runTransportConformance(
      { describe, it },
      {
        name: `RabbitMQ, ${what}, through a TCP relay severed by the test`,
        async createFixture() {
          const queue = uniqueQueue('conformance-relay');
          const relay = await relayToBroker();
          return {
            server: new RabbitMqServerTransport({
              url: relay.url,
              queue,
              maxMessageSize,
              reconnect: { initialDelay: 10, maxDelay: 100 },
            }),
            connect: () =>
              new RabbitMqClientTransport({
                url: relay.url,
                routingKey: queue,
                replyTo,
                maxMessageSize,
              }),
            disconnect: relay.sever,
            close: relay.close,
          };
        },
        capabilities: {
          detectsServerGone: false,
          maxMessageSize,
          limits: true,
          disconnect: true,
          reconnect: true,
          streams: true,
        },
      },
    );
  });
}
