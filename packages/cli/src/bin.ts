#!/usr/bin/env node
// The `tinyrpc` executable. It exits as soon as the command is done and its output is written: a
// transport that keeps a socket lingering (ZeroMQ) must not hold the shell.
import { main } from './main.ts';

const status = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onInterrupt: (listener) => {
    process.on('SIGINT', listener);
    return () => process.off('SIGINT', listener);
  },
});
// Pipes are asynchronous on some systems (macOS): exiting before they drain would cut the output.
const drained = (stream: NodeJS.WriteStream): Promise<void> =>
  new Promise((resolve) => {
    stream.write('', () => {
      resolve();
    });
  });
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(status);
