#!/usr/bin/env node
// The `tinyrpc` executable. It exits as soon as the command is done: a transport that keeps a
// socket lingering (ZeroMQ) must not hold the shell.
import { main } from './main.ts';

const status = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exit(status);
