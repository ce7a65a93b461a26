import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Params } from '@tinyrpc/core';
import type { ConnectOptions } from './connect.ts';
import { UsageError } from './usage-error.ts';

/** One argument from the command line: its JSON value when it parses as JSON, else the text itself. */
export function parseArgument(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The params of a call: `--params` (a JSON array or object) or the positional arguments, never
 * both; `undefined` when there are none.
 */
export function paramsFrom(
  args: readonly string[],
  params: string | undefined,
): Params | undefined {
  if (params === undefined) return args.length === 0 ? undefined : args.map(parseArgument);
  if (args.length > 0) throw new UsageError('give --params or arguments, not both');
  let value: unknown;
  try {
    value = JSON.parse(params);
  } catch {
    throw new UsageError(`--params is not JSON: ${params}`);
  }
  if (typeof value !== 'object' || value === null) {
    throw new UsageError('--params must be a JSON array or object');
  }
  return value as Params;
}

/** The options every command that connects takes, in `node:util` `parseArgs` form. */
export const connectionOptions = {
  protocol: { type: 'string', default: 'jsonrpc' },
  timeout: { type: 'string', default: '10000' },
  framing: { type: 'string' },
  req: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type CommandLineConfig<Options> = {
  args: string[];
  allowPositionals: true;
  strict: true;
  options: typeof connectionOptions & Options;
};

/** What {@link parseCommandLine} answers: `values` typed from the options, and `positionals`. */
export type ParsedCommandLine<Options extends OptionsConfig> = ReturnType<
  typeof parseArgs<CommandLineConfig<Options>>
>;

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's arguments: positionals, its own `options` and {@link connectionOptions}. */
export function parseCommandLine<const Options extends OptionsConfig>(
  args: readonly string[],
  options: Options,
): ParsedCommandLine<Options> {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: { ...connectionOptions, ...options },
  });
}

/** `true` when `args` ask for help (`-h` or `--help` before any `--`). */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '-h' || arg === '--help');
}

/** Help lines of {@link connectionOptions}. */
export const connectionHelp = `Connection options:
  --protocol jsonrpc|msgpack      the protocol (default jsonrpc)
  --timeout MS                    milliseconds a call may take (default 10000)
  --framing content-length|newline  tcp:// and unix:// message framing (default content-length)
  --req                           zmq+tcp:// with a strict REQ socket instead of a DEALER
  -h, --help                      this help`;

/** Endpoint URLs, for the help of every command that connects. */
export const endpointHelp = `Endpoints:
  http://host:port/path  https://…     HTTP POST
  ws://host:port/path    wss://…       WebSocket
  tcp://host:port        unix:/path    TCP or Unix socket (--framing)
  zmq+tcp://host:port                  ZeroMQ DEALER (--req for REQ)
  amqp://user:pass@host:port/vhost?queue=name   RabbitMQ
  nats://host:port?subject=name                 NATS`;

/** Checks the values of {@link connectionOptions} and turns them into {@link ConnectOptions}. */
export function connectOptionsFrom(values: {
  protocol?: string;
  timeout?: string;
  framing?: string | undefined;
  req?: boolean;
}): ConnectOptions & { readonly timeout: number } {
  const { protocol = 'jsonrpc', framing } = values;
  if (protocol !== 'jsonrpc' && protocol !== 'msgpack') {
    throw new UsageError(`--protocol must be jsonrpc or msgpack, not '${protocol}'`);
  }
  if (framing !== undefined && framing !== 'content-length' && framing !== 'newline') {
    throw new UsageError(`--framing must be content-length or newline, not '${framing}'`);
  }
  return {
    protocol,
    framing,
    req: values.req ?? false,
    timeout: positiveNumber('--timeout', values.timeout ?? '10000'),
  };
}

/** `text` as a positive number, or a {@link UsageError} naming `option`. */
export function positiveNumber(option: string, text: string, integer = false): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(
      `${option} must be a positive ${integer ? 'integer' : 'number'}, not '${text}'`,
    );
  }
  return value;
}
