/** Where a command writes: a stream with an optional terminal flag, as `process.stdout` is. */
export interface OutputStream {
  /** Writes text as it is, without a newline of its own. */
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/** What a command runs with: its output streams and environment. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Calls `listener` on Ctrl-C instead of ending the process, until the returned function is
   * called; `bench` stops early with it and reports what it measured.
   */
  readonly onInterrupt?: (listener: () => void) => () => void;
}

/** ANSI styles that are no-ops unless the stream is a terminal (and `NO_COLOR` is not set). */
export interface Styles {
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly red: (text: string) => string;
  readonly yellow: (text: string) => string;
}

const plain = (text: string): string => text;
const ansi =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${String(open)}m${text}\u001b[${String(close)}m`;

/** `true` when `stream` is a terminal that takes colour. */
export function isColourTerminal(stream: OutputStream, env: CliIo['env']): boolean {
  return stream.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
}

/** The styles for `stream`: colour on a terminal, plain text otherwise. */
export function stylesFor(stream: OutputStream, env: CliIo['env']): Styles {
  if (!isColourTerminal(stream, env)) return { bold: plain, dim: plain, red: plain, yellow: plain };
  return { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), yellow: ansi(33, 39) };
}
