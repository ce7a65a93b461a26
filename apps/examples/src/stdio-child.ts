// JSON-RPC over a child process's stdin and stdout, framed as the Language Server Protocol does.
// The same file is both: run plainly it is the parent, with the argument `serve` the child.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { StreamClientTransport, StreamServerTransport } from '@tinyrpc/transport-stream';

if (process.argv[2] === 'serve') {
  // The child: stdout carries the messages, so it must not log there.
  const dispatcher = new RpcDispatcher();
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points, as Python's s[::-1]
  dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
  const transport = new StreamServerTransport({
    stream: { readable: process.stdin, writable: process.stdout },
    framing: 'content-length',
  });
  await new RpcServer(transport, new JsonRpcProtocol(), dispatcher).serve();
} else {
  // process.execArgv repeats how this file was started (plain node, or with tsx).
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), 'serve'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const client = new RpcClient(
    new JsonRpcProtocol(),
    new StreamClientTransport({
      stream: { readable: child.stdout, writable: child.stdin },
      framing: 'content-length',
    }),
  );
  console.log('Server answered:', await client.call('reverse_string', ['Hello, World!']));
  // Closing the client ends the child's stdin; the child's server then ends and it exits.
  await client.close();
}
