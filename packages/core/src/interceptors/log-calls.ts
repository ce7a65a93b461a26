import { RpcError } from '../errors.ts';
import type { Interceptor } from '../interceptor.ts';
import { describeError } from '../transport/describe-error.ts';

/** Options of {@link logCalls}. */
export interface LogCallsOptions {
  /** Where the lines go. Default `console.info`. */
  readonly log?: (line: string) => void;
}

/**
 * Logs one line per call: its method, how long it took and how it ended
 * (`add 0.4 ms ok`, `add 1.2 ms error -32601 Method not found`). For a server or a client alike.
 */
export function logCalls(options: LogCallsOptions = {}): Interceptor<{ readonly method: string }> {
  const log =
    options.log ??
    ((line: string) => {
      console.info(line);
    });
  return async (call, next) => {
    const started = performance.now();
    const took = (): string => `${(performance.now() - started).toFixed(1)} ms`;
    try {
      const result = await next();
      log(`${call.method} ${took()} ok`);
      return result;
    } catch (error) {
      const code = RpcError.is(error) ? ` ${String(error.code)}` : '';
      log(`${call.method} ${took()} error${code} ${describeError(error)}`);
      throw error;
    }
  };
}
