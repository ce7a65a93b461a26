/**
 * OpenTelemetry for tinyrpc: `serverTracing()` and `clientTracing()` are interceptors that make
 * one span per call, following the RPC semantic conventions, record call durations, and carry the
 * trace context from the client's span to the server's.
 *
 * @packageDocumentation
 */
export { clientTracing } from './client-tracing.ts';
export { serverTracing } from './server-tracing.ts';
export type { TracingOptions } from './tracing-options.ts';
