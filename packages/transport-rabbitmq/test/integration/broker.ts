// Shared by the integration tests: the broker's address, unique queue names, and clean-up.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { gate, tcpReachable } from '@tinyrpc/test-helpers';
import { connect, type ChannelModel } from 'amqplib';

export const url = 'amqp://guest:guest@127.0.0.1:5672';

/** `true` when the broker runs; skips with a message (or throws under CI=true) when it does not. */
export const brokerAvailable = async (): Promise<boolean> =>
  gate('RabbitMQ at 127.0.0.1:5672', await tcpReachable('127.0.0.1', 5672));

const created: string[] = [];

/** A queue name no other test run uses; deleted by {@link deleteQueues}. */
export function uniqueQueue(label: string): string {
  const name = `tinyrpc-test-${label}-${randomBytes(6).toString('hex')}`;
  created.push(name);
  return name;
}

/** Deletes every queue {@link uniqueQueue} named, on a connection of its own. */
export async function deleteQueues(): Promise<void> {
  if (created.length === 0) return;
  const connection = await connect(url);
  try {
    for (const name of created.splice(0)) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(name).catch(() => undefined);
      // The cancel exchange a server or client of the queue declared, if any.
      await channel.deleteExchange(`${name}.cancel`).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

/** Destroys the TCP socket under an amqplib connection with an error, as a network failure would. */
export function breakConnection(connection: ChannelModel | undefined): void {
  if (connection === undefined) throw new Error('no connection to break');
  const { stream } = connection.connection as unknown as { stream: Socket };
  stream.destroy(Object.assign(new Error('simulated network failure'), { code: 'ECONNRESET' }));
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it holds, failing after `timeoutMs`. */
export async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${String(timeoutMs)} ms`);
    await sleep(20);
  }
}

/** Destroys the socket without an error: amqplib does not notice, as with a silent network. */
export function dropSocketSilently(connection: ChannelModel | undefined): void {
  if (connection === undefined) throw new Error('no connection to drop');
  (connection.connection as unknown as { stream: Socket }).stream.destroy();
}
