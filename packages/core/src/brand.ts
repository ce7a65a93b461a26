import type { ClientTransport, RpcProtocol, ServerTransport } from './types.ts';

/** Brand that a {@link ClientTransport} implementation sets to `true`; see {@link isClientTransport}. */
export const clientTransportBrand = Symbol.for('@tinyrpc/core/ClientTransport');
/** Brand that a {@link ServerTransport} implementation sets to `true`; see {@link isServerTransport}. */
export const serverTransportBrand = Symbol.for('@tinyrpc/core/ServerTransport');
/** Brand that an {@link RpcProtocol} implementation sets to `true`; see {@link isRpcProtocol}. */
export const protocolBrand = Symbol.for('@tinyrpc/core/RpcProtocol');

const hasBrand = (value: unknown, brand: symbol): boolean =>
  typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;

/** `true` for an object that declares itself a client transport by its brand. */
export const isClientTransport = (value: unknown): value is ClientTransport =>
  hasBrand(value, clientTransportBrand);

/** `true` for an object that declares itself a server transport by its brand. */
export const isServerTransport = (value: unknown): value is ServerTransport =>
  hasBrand(value, serverTransportBrand);

/** `true` for an object that declares itself a protocol by its brand. */
export const isRpcProtocol = (value: unknown): value is RpcProtocol =>
  hasBrand(value, protocolBrand);

/** Marks `target` with `brand`, non-enumerable, so guards recognise it across installed copies. */
export function setBrand(target: object, brand: symbol): void {
  Object.defineProperty(target, brand, { value: true });
}

/** Internal: checks a brand. */
export { hasBrand };
