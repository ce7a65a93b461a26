import type { ServerLimits } from './types.ts';

/** The defaults of {@link ServerLimits}, the same on every transport. */
export const defaultLimits: Readonly<Required<ServerLimits>> = Object.freeze({
  maxMessageSize: 1024 * 1024,
  maxInFlight: 1000,
  idleTimeout: 30_000,
});
