// tinyrpc call over nats://host:port?subject=name, against our server on the NATS server.
import { describe, it } from 'vitest';
import { gate, tcpReachable } from '@tinyrpc/test-helpers';
import { expectCalls } from '../support.ts';

const server = gate('NATS at 127.0.0.1:4222', await tcpReachable('127.0.0.1', 4222));

describe.runIf(server)('tinyrpc call over nats://', () => {
  it('answers results (exit 0) and error responses (exit 1)', async () => {
    await expectCalls('nats', []);
  });
});
