// The conformance kit, run exactly as a third party would: through the package's public entry.
import { describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import { tcpRelay } from '@tinyrpc/test-helpers';
import { NatsClientTransport, NatsServerTransport } from '@tinyrpc/transport-nats';
import { natsAvailable, servers, uniqueSubject } from './integration/nats.ts';

const available = await natsAvailable();

// The NATS server's default max_payload; the transports' default maxMessageSize is the same.
const maxMessageSize = 1_048_576;
// Calls of one client running at once; past it, calls fail at once ("Server busy").
const maxInFlight = 128;

describe.skipIf(!available)('NATS', () => {
  // Nobody on the subject after the server closed: "no responders", a TransportError at once.
  runTransportConformance(
    { describe, it },
    {
      name: 'NATS',
      createFixture() {
        const subject = uniqueSubject('conformance');
        return {
          server: new NatsServerTransport({ servers, subject, maxInFlight }),
          connect: () => new NatsClientTransport({ servers, subject }),
        };
      },
      capabilities: { maxMessageSize, limits: true, maxInFlight },
    },
  );

  // The clients' connections go through a relay the test severs: calls in flight fail with a
  // TransportError, the NATS client reconnects by itself and the next call is answered.
  runTransportConformance(
    { describe, it },
    {
      name: 'NATS, clients through a TCP relay severed by the test',
      async createFixture() {
        const subject = uniqueSubject('conformance-relay');
        const relay = await tcpRelay(() => 4222);
        return {
          server: new NatsServerTransport({ servers, subject }),
          connect: () =>
            new NatsClientTransport({
              servers: `127.0.0.1:${String(relay.port)}`,
              subject,
              reconnect: { initialDelay: 10, maxDelay: 100 },
            }),
          disconnect: relay.sever,
          close: relay.close,
        };
      },
      capabilities: { maxMessageSize, limits: true, disconnect: true, reconnect: true },
    },
  );
});
