// Shared by the NATS tests: the server's address, the gate, unique subjects, waiting.
import { randomBytes } from 'node:crypto';
import { gate, tcpReachable } from '@tinyrpc/test-helpers';

export const servers = '127.0.0.1:4222';

/** `true` when NATS runs; skips with a message (or throws under CI=true) when it does not. */
export const natsAvailable = async (): Promise<boolean> =>
  gate('NATS at 127.0.0.1:4222', await tcpReachable('127.0.0.1', 4222));

/** A subject no other test run uses. */
export const uniqueSubject = (label: string): string =>
  `tinyrpc.test.${label}.${randomBytes(6).toString('hex')}`;
