import type { ClientTransport, ServerTransport } from './types.ts';

/** The version of the transport contract this `@tinyrpc/core` implements. */
export const specificationVersion = 1;

/**
 * Tells which kind of client transport `transport` is. A transport written before the contract had
 * versions (no `specificationVersion`) is adapted: one with a `subscribe` method is a connection,
 * any other a request/reply transport. A transport of a later version is refused with a
 * `TypeError`, as its messages may mean something this core does not know.
 */
export function clientTransportKind(transport: ClientTransport): ClientTransport['kind'] {
  const version = (transport as { specificationVersion?: unknown }).specificationVersion;
  if (version === specificationVersion) return transport.kind;
  if (version === undefined) {
    return typeof (transport as { subscribe?: unknown }).subscribe === 'function'
      ? 'connection'
      : 'request-reply';
  }
  throw unsupported('client', version);
}

/** Refuses a server transport of a contract version this core does not know (see above). */
export function checkServerTransport(transport: ServerTransport): void {
  const version = (transport as { specificationVersion?: unknown }).specificationVersion;
  if (version !== specificationVersion && version !== undefined)
    throw unsupported('server', version);
}

function unsupported(side: string, version: unknown): TypeError {
  return new TypeError(
    `This ${side} transport implements transport contract version ${String(version)}; ` +
      `@tinyrpc/core implements version ${String(specificationVersion)}. Install a matching @tinyrpc/core.`,
  );
}
