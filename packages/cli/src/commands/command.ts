import type { CliIo } from '../cli-io.ts';

/** A `tinyrpc` command. */
export interface Command {
  readonly name: string;
  /** One line for `tinyrpc --help`. */
  readonly summary: string;
  /** The whole `--help` text. */
  readonly help: string;
  /** Runs with the arguments after the command's name; resolves with the exit code. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}
