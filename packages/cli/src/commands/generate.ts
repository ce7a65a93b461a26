import { readFile } from 'node:fs/promises';
import {
  connectionHelp,
  connectOptionsFrom,
  parseCommandLine,
  endpointHelp,
} from '../arguments.ts';
import { isEndpoint } from '../connect.ts';
import { generateApiType } from '../generate-api-type.ts';
import { exitCodes } from '../report-error.ts';
import { UsageError } from '../usage-error.ts';
import type { Command } from './command.ts';
import { fetchDocument } from './discover.ts';

/** `tinyrpc generate <url|file>`: an API type for `getProxy<Api>()` from an OpenRPC document. */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'print a TypeScript API type from an OpenRPC document (an endpoint or a file)',
  help: `Usage: tinyrpc generate <url|file> [options]

Prints TypeScript source of an interface with one method per method of an OpenRPC document, for
client.getProxy<Api>(). The document comes from the endpoint's rpc.discover when the argument is a
URL, else from a JSON file (write one by hand for a service that cannot describe itself).

Options:
  --name NAME       name of the interface (default Api)
${connectionHelp}

${endpointHelp}

Example:
  tinyrpc generate http://127.0.0.1:5000/ > src/shop-api.ts`,

  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      name: { type: 'string', default: 'Api' },
    });
    const [source, ...extra] = positionals;
    if (source === undefined || extra.length > 0) throw new UsageError('give one URL or file');
    const options = connectOptionsFrom(values);
    const document = isEndpoint(source)
      ? await fetchDocument(source, options)
      : await readDocument(source);
    io.stdout.write(generateApiType(document, { name: values.name }));
    return exitCodes.ok;
  },
};

async function readDocument(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${path} is not JSON`);
  }
}
