import {
  createNoopMeter,
  metrics,
  propagation,
  ProxyTracerProvider,
  trace,
  type Attributes,
  type Histogram,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { attributesOf } from './attributes.ts';

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

const scope = '@tinyrpc/opentelemetry';

// What the API's global tracer provider (a proxy) delegates to until an SDK is registered.
// eslint-disable-next-line @typescript-eslint/no-deprecated -- it is what `trace.getTracerProvider()` returns in API 1.x
const noopTracerProvider = new ProxyTracerProvider().getDelegate();
const noopMeter = createNoopMeter();

/**
 * The tracer and histogram one interceptor uses, and whether it has anything to do at all.
 *
 * An application may register its SDK after the interceptor was made. The tracer comes from the
 * API's global proxy, which delegates to the SDK from then on (as every OpenTelemetry
 * instrumentation's tracer does), and the meter provider, which the API does not proxy, is looked
 * up on every call. While nothing at all is registered the interceptor is idle: one test of the
 * proxy per call, no lookups in the API's global registry, which cost more than the rest.
 */
export class Instruments {
  /** The attributes of a call to a method, shared by its span and its measurement. */
  readonly attributes: (method: string) => Attributes;
  readonly #options: TracingOptions;
  readonly #side: 'client' | 'server';
  readonly #tracer: Tracer;
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- as above
  readonly #proxy: ProxyTracerProvider | undefined;
  #meterProvider: MeterProvider | undefined;
  #duration: Histogram | undefined;
  #idle: boolean;

  constructor(options: TracingOptions, side: 'client' | 'server') {
    this.#options = options;
    this.#side = side;
    this.attributes = attributesOf(options.system ?? 'jsonrpc');
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    this.#tracer = provider.getTracer(scope);
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- as above
    this.#proxy = provider instanceof ProxyTracerProvider ? provider : undefined;
    this.#idle =
      this.tracer() === undefined &&
      this.duration() === undefined &&
      propagation.fields().length === 0;
  }

  /**
   * `true` while the API had nothing registered when the interceptor was made (no tracer, meter
   * or propagator) and no tracer provider was registered since: the call needs no work. Once a
   * tracer provider is, every call looks up all three.
   */
  idle(): boolean {
    if (!this.#idle) return false;
    if (this.tracer() === undefined) return true;
    this.#idle = false;
    return false;
  }

  /** The tracer to start this call's span with; `undefined` while only the no-op one is there. */
  tracer(): Tracer | undefined {
    const proxy = this.#proxy;
    return proxy !== undefined && proxy.getDelegate() === noopTracerProvider
      ? undefined
      : this.#tracer;
  }

  /** The call-duration histogram; `undefined` while the meter provider is the no-op one. */
  duration(): Histogram | undefined {
    const provider = this.#options.meterProvider ?? metrics.getMeterProvider();
    if (provider !== this.#meterProvider) {
      this.#meterProvider = provider;
      const meter = provider.getMeter(scope);
      this.#duration =
        meter === noopMeter
          ? undefined
          : meter.createHistogram(`rpc.${this.#side}.duration`, {
              description: `Duration of RPC calls, measured on the ${this.#side}`,
              unit: 'ms',
            });
    }
    return this.#duration;
  }
}
