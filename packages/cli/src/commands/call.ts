import {
  connectionHelp,
  connectOptionsFrom,
  parseCommandLine,
  endpointHelp,
  paramsFrom,
} from '../arguments.ts';
import { closeClient, connect } from '../connect.ts';
import { exitCodes, toJson } from '../report-error.ts';
import { UsageError } from '../usage-error.ts';
import type { Command } from './command.ts';

/** `tinyrpc call <url> <method> [args…]`: one call, its result as JSON on stdout. */
export const callCommand: Command = {
  name: 'call',
  summary: 'call a method and print its result as JSON',
  help: `Usage: tinyrpc call <url> <method> [args…] [options]

Calls <method> and prints its result as JSON on stdout. Each argument is taken as JSON when it
parses as JSON ('42', '"42"', '[1,2]', 'true'), else as a string. Put '--' before arguments that
start with a dash.

Options:
  --params JSON     the whole params instead of arguments: '[1, 2]' or '{"a": 1}'
  --notify          send a notification: no answer, nothing printed
${connectionHelp}

${endpointHelp}

Exit status: 0 result, 1 error response (code and message on stderr), 2 the endpoint cannot be
reached, did not answer in time, or the arguments are wrong.

Example:
  tinyrpc call http://127.0.0.1:5000/ reverse_string 'Hello, World!'`,

  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      params: { type: 'string' },
      notify: { type: 'boolean', default: false },
    });
    const [url, method, ...rest] = positionals;
    if (url === undefined || method === undefined) throw new UsageError('give a URL and a method');
    const params = paramsFrom(rest, values.params);
    const options = connectOptionsFrom(values);
    const client = await connect(url, options);
    try {
      if (values.notify) {
        await client.notify(method, params, { signal: AbortSignal.timeout(options.timeout) });
        return exitCodes.ok;
      }
      const result = await client.call(method, params, { timeout: options.timeout });
      io.stdout.write(`${toJson(result)}\n`);
      return exitCodes.ok;
    } finally {
      await closeClient(client);
    }
  },
};
