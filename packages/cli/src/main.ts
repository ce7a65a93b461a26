import { readFileSync } from 'node:fs';
import { asksForHelp } from './arguments.ts';
import type { CliIo } from './cli-io.ts';
import { benchCommand } from './commands/bench.ts';
import { callCommand } from './commands/call.ts';
import type { Command } from './commands/command.ts';
import { discoverCommand } from './commands/discover.ts';
import { generateCommand } from './commands/generate.ts';
import { exitCodes, reportError } from './report-error.ts';
import { UsageError } from './usage-error.ts';

const commands: readonly Command[] = [callCommand, discoverCommand, benchCommand, generateCommand];

const help = `Usage: tinyrpc <command> [arguments] [options]

Commands:
${commands.map((command) => `  ${command.name.padEnd(10)}${command.summary}`).join('\n')}

Run tinyrpc <command> --help for a command's arguments, options and endpoints.
  -h, --help      this help
  -v, --version   the version of @tinyrpc/cli`;

/**
 * Runs `tinyrpc` with `args` (the command line after the program name) and resolves with the exit
 * status: 0 success, 1 an error response, 2 an endpoint that cannot be reached or wrong arguments.
 * Never rejects: every failure is printed on `io.stderr`.
 */
export async function main(args: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(`${help}\n`);
    return exitCodes.ok;
  }
  if (name === '-v' || name === '--version') {
    io.stdout.write(`${version()}\n`);
    return exitCodes.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.stderr.write(
      name === undefined ? `${help}\n` : `tinyrpc: unknown command '${name}'\n\n${help}\n`,
    );
    return exitCodes.failure;
  }
  if (asksForHelp(rest)) {
    io.stdout.write(`${command.help}\n`);
    return exitCodes.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown options.
    const code = (error as { code?: unknown }).code;
    const usage =
      typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
        ? new UsageError((error as Error).message)
        : error;
    return reportError(usage, io, command.name);
  }
}

function version(): string {
  // src/ and dist/ both sit one level below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
