// tinyrpc call over amqp://…?queue=name, against our server on the RabbitMQ broker.
import { describe, it } from 'vitest';
import { gate, tcpReachable } from '@tinyrpc/test-helpers';
import { expectCalls } from '../support.ts';

const broker = gate('RabbitMQ at 127.0.0.1:5672', await tcpReachable('127.0.0.1', 5672));

describe.runIf(broker)('tinyrpc call over amqp://', () => {
  it('answers results (exit 0) and error responses (exit 1)', async () => {
    await expectCalls('amqp', []);
  });
});
