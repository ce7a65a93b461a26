// TEMPORARY: the names of the core transport kit (KIT.md) until it lands on main; then this file
// goes and the imports point at '@tinyrpc/core/transport'.
import { TransportError } from '@tinyrpc/core';

export interface ReconnectOptions {
  readonly retries?: number;
  readonly initialDelay?: number;
  readonly maxDelay?: number;
  readonly jitter?: number;
}
export type ErrorHandler = (error: unknown) => void;
export const defaultLimits = {
  maxMessageSize: 1_048_576,
  maxInFlight: 1000,
  idleTimeout: 30_000,
} as const;

export class InFlight {
  #size = 0;
  readonly #limit: number;
  readonly #idle: (() => void)[] = [];
  constructor(options: { limit?: number } = {}) {
    this.#limit = options.limit ?? Infinity;
  }
  get size(): number {
    return this.#size;
  }
  get full(): boolean {
    return this.#size >= this.#limit;
  }
  track<T>(work: Promise<T>): Promise<T> {
    this.#size++;
    void work.then(this.#done, this.#done);
    return work;
  }
  readonly #done = (): void => {
    this.#size--;
    if (this.#size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  };
  drain(): Promise<void> {
    if (this.#size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

export class Backoff {
  readonly #options: ReconnectOptions;
  #attempt = 0;
  constructor(options: ReconnectOptions | undefined) {
    this.#options = options ?? {};
  }
  next(): number | undefined {
    const { retries = Infinity, initialDelay = 100, maxDelay = 5000, jitter = 0.2 } = this.#options;
    if (this.#attempt >= retries) return undefined;
    const base = Math.min(maxDelay, initialDelay * 2 ** this.#attempt++);
    return base * (1 - jitter + Math.random() * jitter * 2);
  }
  reset(): void {
    this.#attempt = 0;
  }
}

export function reconnectOptions(
  value: boolean | ReconnectOptions | undefined,
  defaultOn: boolean,
): ReconnectOptions | undefined {
  if (value === false || (value === undefined && !defaultOn)) return undefined;
  return value === true || value === undefined ? {} : value;
}

export function raceSignal<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function describeError(value: unknown): string {
  try {
    return value instanceof Error ? value.message : String(value);
  } catch {
    return 'unknown error';
  }
}

export function tooLargeError(size: number, limit: number): TransportError {
  return new TransportError(
    `Message of ${String(size)} bytes is over the limit of ${String(limit)} bytes (maxMessageSize)`,
  );
}

export function messageSize(message: string | Uint8Array): number {
  return typeof message === 'string' ? Buffer.byteLength(message, 'utf8') : message.byteLength;
}

export interface ListenOptions {
  readonly contentType?: string;
  readonly errorReply?: (
    error: import('@tinyrpc/core').RpcError,
  ) => string | Uint8Array | undefined;
}
