import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, type TestContext } from 'vitest';
import { RpcClient, TransportError } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { StreamClientTransport, type Framing } from '@tinyrpc/transport-stream';

// The child runs test/fixtures/stdio-server.ts through tsx, reading the workspace's sources
// (Node 20 cannot run TypeScript by itself).
const packageDir = fileURLToPath(new URL('..', import.meta.url));
// Tests run concurrently; each kills its own child when it finishes.
function startServer(
  framing: Framing,
  test: TestContext,
): {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tinyrpc/source', 'test/fixtures/stdio-server.ts', framing],
    { cwd: packageDir, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  test.onTestFinished(() => {
    child.kill();
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
    }),
  );
  return { child, exited, stderr: () => stderr };
}

function clientOf(child: ChildProcessWithoutNullStreams, framing: Framing): RpcClient {
  return new RpcClient(
    new JsonRpcProtocol(),
    new StreamClientTransport({
      stream: { readable: child.stdout, writable: child.stdin },
      framing,
    }),
  );
}

describe.concurrent.each(['content-length', 'newline'] as const)(
  'a child process over stdio, %s framing',
  (framing) => {
    it('answers many calls in flight, large ones too, in any order', async (test) => {
      const { child } = startServer(framing, test);
      const client = clientOf(child, framing);
      expect(await client.call('pid')).toBe(child.pid);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => client.call('delay', [(i * 7) % 20, i])),
      );
      expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
      const big = 'é'.repeat(500_000);
      expect(await client.call('echo', [big])).toBe(big);
      await client.close();
    });

    it('fails pending and later calls with a TransportError when the child dies', async (test) => {
      const { child, exited } = startServer(framing, test);
      const client = clientOf(child, framing);
      const pending = client.call('delay', [10_000, 'never']).catch((error: unknown) => error);
      expect(await client.call('crash', [3])).toBe('crashing');
      expect(await exited).toBe(3);
      expect(await pending).toBeInstanceOf(TransportError);
      await expect(client.call('add', [1, 2])).rejects.toBeInstanceOf(TransportError);
      expect(client.pendingCount).toBe(0);
    });
  },
);

describe.concurrent('a child process over stdio', () => {
  it('answers what was asked before its stdin closed, then exits by itself', async (test) => {
    const { child, exited, stderr } = startServer('newline', test);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdin.end(
      '{"jsonrpc":"2.0","id":1,"method":"delay","params":[100,"late"]}\n' +
        '{"jsonrpc":"2.0","id":2,"method":"add","params":[1,2]}\n',
    );
    expect(await exited, stderr()).toBe(0);
    expect(
      output
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { jsonrpc: '2.0', id: 2, result: 3 },
      { jsonrpc: '2.0', id: 1, result: 'late' },
    ]);
  });

  it('exits when the client closes the transport', async (test) => {
    const { child, exited } = startServer('content-length', test);
    const client = clientOf(child, 'content-length');
    expect(await client.call('add', [2, 3])).toBe(5);
    await client.close();
    expect(await exited).toBe(0);
  });
});
