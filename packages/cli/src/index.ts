/**
 * The `tinyrpc` command line (`call`, `discover`, `bench`, `generate`), and what it is made of for
 * use from code: {@link main} runs a command line, {@link generateApiType} turns an OpenRPC
 * document into a TypeScript API type, {@link connect} opens a client for an endpoint URL.
 *
 * @example
 * ```ts
 * import { generateApiType } from '@tinyrpc/cli';
 *
 * const document = {
 *   openrpc: '1.3.2',
 *   info: { title: 'Strings', version: '1.0.0' },
 *   methods: [
 *     {
 *       name: 'reverse_string',
 *       params: [{ name: 's', schema: { type: 'string' }, required: true }],
 *       result: { name: 'reversed', schema: { type: 'string' } },
 *     },
 *   ],
 * };
 * console.log(generateApiType(document));
 * ```
 *
 * @packageDocumentation
 */
export { main } from './main.ts';
export { generateApiType, type GenerateOptions } from './generate-api-type.ts';
export { schemaToType, type RefNamer } from './json-schema-to-type.ts';
export { closeClient, connect, isEndpoint, type ConnectOptions } from './connect.ts';
export { schemes, type TransportFlags, type TransportLoader } from './schemes.ts';
export type { ProtocolName } from './protocols.ts';
export type { CliIo, OutputStream } from './cli-io.ts';
export { UsageError } from './usage-error.ts';
