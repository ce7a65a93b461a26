import type { Attributes } from '@opentelemetry/api';
import {
  metrics,
  trace,
  type Histogram,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

/** Options of {@link serverTracing} and {@link clientTracing}. */
export interface TracingOptions {
  /** Where spans go. Default: the global tracer provider (`trace.getTracerProvider()`). */
  readonly tracerProvider?: TracerProvider;
  /** Where the call-duration histogram goes. Default: the global meter provider. */
  readonly meterProvider?: MeterProvider;
  /**
   * `rpc.system` of every span: `'jsonrpc'` (the default) or another name for another protocol,
   * such as `'msgpackrpc'` for MessagePack-RPC, which the conventions do not name.
   */
  readonly system?: string;
}

import { attributesOf } from './attributes.ts';

const scope = '@tinyrpc/opentelemetry';

/** The tracer, histogram and system name one interceptor uses. */
export interface Instruments {
  readonly tracer: Tracer;
  readonly duration: Histogram;
  readonly system: string;
  /** The attributes of a call to `method`, shared by its span and its measurement. */
  readonly attributes: (method: string) => Attributes;
}

export function instruments(options: TracingOptions, side: 'client' | 'server'): Instruments {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(scope);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(scope);
  const duration = meter.createHistogram(`rpc.${side}.duration`, {
    description: `Duration of RPC calls, measured on the ${side}`,
    unit: 'ms',
  });
  const system = options.system ?? 'jsonrpc';
  return { tracer, duration, system, attributes: attributesOf(system) };
}
