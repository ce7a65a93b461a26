import { RpcClient } from '@tinyrpc/core';
import { protocols, type ProtocolName } from './protocols.ts';
import { schemes, type TransportFlags } from './schemes.ts';
import { UsageError } from './usage-error.ts';

/** How {@link connect} reaches an endpoint. */
export interface ConnectOptions extends TransportFlags {
  /** Default `'jsonrpc'`. */
  readonly protocol?: ProtocolName;
  /** Milliseconds each call may take. */
  readonly timeout?: number;
}

/** `true` when `target` starts with a scheme of the table, so it names an endpoint, not a file. */
export function isEndpoint(target: string): boolean {
  return Object.hasOwn(schemes, parseUrl(target)?.protocol ?? '');
}

/**
 * A client for the endpoint `target` names (`http://…`, `tcp://host:port`, `zmq+tcp://…`…). Throws
 * a {@link UsageError} for a URL no transport takes, or whose transport package is not installed.
 */
export async function connect(target: string, options: ConnectOptions = {}): Promise<RpcClient> {
  const url = parseUrl(target);
  if (url === undefined) throw new UsageError(`'${target}' is not a URL`);
  const loader = Object.hasOwn(schemes, url.protocol) ? schemes[url.protocol] : undefined;
  if (loader === undefined) {
    throw new UsageError(
      `no transport for ${url.protocol}// URLs; use one of: ${Object.keys(schemes)
        .map((scheme) => `${scheme}//`)
        .join(' ')}`,
    );
  }
  try {
    const transport = await loader(url, options);
    const protocol = await protocols[options.protocol ?? 'jsonrpc']();
    return new RpcClient(protocol, transport, { timeout: options.timeout });
  } catch (error) {
    throw missingPackage(error, url) ?? error;
  }
}

/** Closes `client`, waiting at most `ms` for its transport to let go. */
export async function closeClient(client: RpcClient, ms = 1000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    client.close().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

function parseUrl(target: string): URL | undefined {
  try {
    return new URL(target);
  } catch {
    return undefined;
  }
}

// ZeroMQ and RabbitMQ transports are optional peers, so that `npx @tinyrpc/cli` stays small.
function missingPackage(error: unknown, url: URL): UsageError | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' || typeof message !== 'string') return undefined;
  const name = /'(@tinyrpc\/[\w-]+)'/.exec(message)?.[1];
  if (name === undefined) return undefined;
  return new UsageError(
    `${url.protocol}// needs ${name}: install it beside @tinyrpc/cli ` +
      `(npx -p @tinyrpc/cli -p ${name} tinyrpc …)`,
    { cause: error },
  );
}
