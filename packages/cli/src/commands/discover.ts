import {
  connectionHelp,
  connectOptionsFrom,
  parseCommandLine,
  endpointHelp,
} from '../arguments.ts';
import { stylesFor } from '../cli-io.ts';
import { closeClient, connect, type ConnectOptions } from '../connect.ts';
import { schemaToType } from '../json-schema-to-type.ts';
import { exitCodes, toJson } from '../report-error.ts';
import { UsageError } from '../usage-error.ts';
import type { Command } from './command.ts';

/** Calls `rpc.discover` at `url` and answers the document, checked to be an OpenRPC document. */
export async function fetchDocument(
  url: string,
  options: ConnectOptions & { readonly timeout: number },
): Promise<Record<string, unknown>> {
  const client = await connect(url, options);
  try {
    const document = await client.call('rpc.discover', undefined, { timeout: options.timeout });
    if (
      typeof document !== 'object' ||
      document === null ||
      !Array.isArray((document as { methods?: unknown }).methods)
    ) {
      throw new Error(
        `${url} answered rpc.discover with something that is not an OpenRPC document`,
      );
    }
    return document as Record<string, unknown>;
  } finally {
    await closeClient(client);
  }
}

/** `tinyrpc discover <url>`: the methods an endpoint's `rpc.discover` lists. */
export const discoverCommand: Command = {
  name: 'discover',
  summary: "list an endpoint's methods from its OpenRPC document (rpc.discover)",
  help: `Usage: tinyrpc discover <url> [options]

Calls rpc.discover and prints the methods as a table: name, params and description.

Options:
  --json            print the OpenRPC document itself
${connectionHelp}

${endpointHelp}

Exit status: 0 document, 1 error response (such as -32601 when the server has no discovery), 2 the
endpoint cannot be reached or the arguments are wrong.`,

  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      json: { type: 'boolean', default: false },
    });
    const [url, ...extra] = positionals;
    if (url === undefined || extra.length > 0) throw new UsageError('give one URL');
    const document = await fetchDocument(url, connectOptionsFrom(values));
    if (values.json) {
      io.stdout.write(`${toJson(document)}\n`);
      return exitCodes.ok;
    }
    const { bold, dim, yellow } = stylesFor(io.stdout, io.env);
    const rows = (document['methods'] as unknown[])
      .filter(isRecord)
      .map((method) => [
        String(method['name']),
        paramsText(method['params']),
        describe(method),
        method['deprecated'] === true ? 'deprecated' : '',
      ]);
    const header = ['METHOD', 'PARAMS', 'DESCRIPTION'];
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
    );
    const pad = (text: string, column: number): string => text.padEnd(widths[column] as number);
    io.stdout.write(`${bold(header.map(pad).join('  ').trimEnd())}\n`);
    for (const [name = '', params = '', description = '', deprecated = ''] of rows) {
      const line = `${pad(name, 0)}  ${pad(params, 1)}  ${description}`.trimEnd();
      io.stdout.write(`${line}${deprecated === '' ? '' : ` ${yellow('(deprecated)')}`}\n`);
    }
    const info = isRecord(document['info']) ? document['info'] : {};
    io.stdout.write(
      dim(`${String(rows.length)} methods — ${String(info['title'])} ${String(info['version'])}\n`),
    );
    return exitCodes.ok;
  },
};

function paramsText(params: unknown): string {
  if (!Array.isArray(params)) return '';
  return params
    .filter(isRecord)
    .map(
      (param) =>
        `${String(param['name'])}${param['required'] === true ? '' : '?'}: ${schemaToType(param['schema'] ?? {})}`,
    )
    .join(', ');
}

// One line: the summary, else the description's first line.
function describe(method: Record<string, unknown>): string {
  const text = [method['summary'], method['description']].find(
    (part): part is string => typeof part === 'string' && part !== '',
  );
  return text?.split('\n')[0] ?? '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
