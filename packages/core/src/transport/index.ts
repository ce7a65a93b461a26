/**
 * Plumbing that every transport needs, for first- and third-party transports alike: in-flight
 * tracking with drain and per-connection limits, reconnect backoff, racing work against a signal,
 * message sizes and their error, describing a thrown value, and listening a Node server.
 *
 * @example
 * ```ts
 * import { InFlight, raceSignal } from '@tinyrpc/core/transport';
 *
 * const calls = new InFlight({
 *   limit: 2,
 *   onFull: () => console.log('pause'), // stop reading the connection
 *   onAvailable: () => console.log('resume'),
 * });
 * const slow = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
 * void calls.track(slow(10));
 * void calls.track(slow(20)); // pause
 * await calls.drain(); // resume, then resolves once both are done: what close() waits for
 * await raceSignal(slow(1000), AbortSignal.timeout(5)).catch((error: Error) =>
 *   console.log(error.name),
 * );
 * ```
 *
 * @packageDocumentation
 */
export { InFlight, type InFlightOptions } from './in-flight.ts';
export { Backoff, defaultReconnect, reconnectOptions } from './backoff.ts';
export { raceSignal } from './race-signal.ts';
export { describeError } from './describe-error.ts';
export { messageSize, tooLargeError } from './message-size.ts';
export {
  listenNodeServer,
  type ListenableServer,
  type ListenAddress,
} from './listen-node-server.ts';
export { defaultLimits } from '../limits.ts';
export { deadlineOf } from '../cancellation.ts';
export { CreditWindow, streamCreditOf } from './credit-window.ts';
