// vscode-jsonrpc (the library of VS Code's language servers) as a real peer with calls in both
// directions: its client over TCP against our server, and its server in a child process over stdio
// against our RpcPeer. Content-Length framing, as LSP frames messages.
import { spawn } from 'node:child_process';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, type TestContext } from 'vitest';
import rpc from 'vscode-jsonrpc/node.js';
import {
  RemoteError,
  RpcDispatcher,
  RpcError,
  RpcPeer,
  RpcServer,
  TransportError,
  type CallContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { StreamClientTransport, StreamServerTransport } from '@tinyrpc/transport-stream';

const protocol = new JsonRpcProtocol();
const fixture = fileURLToPath(new URL('../fixtures/vscode-jsonrpc-peer.mjs', import.meta.url));

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function ourServer(test: TestContext) {
  const methods = new RpcDispatcher()
    .add(
      'askBack',
      async (context: CallContext, question: string) => {
        const answer = await context.peer?.call<string>('answer', [question]);
        return `vscode-jsonrpc said ${String(answer)}`;
      },
      { context: true },
    )
    .add('fail', () => {
      throw new RpcError('not today', { code: 42, data: { why: 'test' } });
    });
  const transport = new StreamServerTransport({ port: 0, framing: 'content-length' });
  const server = new RpcServer(transport, protocol, methods);
  await server.serve();
  test.onTestFinished(() => server.close());
  return { server, port: (transport.address as AddressInfo).port };
}

async function vscodeClient(port: number, test: TestContext) {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(socket),
    new rpc.StreamMessageWriter(socket),
  );
  test.onTestFinished(() => {
    connection.dispose();
    socket.destroy();
  });
  return { connection, socket };
}

describe('a vscode-jsonrpc client over TCP, our RpcServer', () => {
  it('our handler calls back into it while its first call is in flight', async (test) => {
    const { port } = await ourServer(test);
    const { connection } = await vscodeClient(port, test);
    const asked: string[] = [];
    connection.onRequest('answer', (question: string) => {
      asked.push(question);
      return `${question}!`;
    });
    connection.listen();
    expect(await connection.sendRequest('askBack', 'ping')).toBe('vscode-jsonrpc said ping!');
    const many = await Promise.all(
      Array.from({ length: 10 }, (_, i) => connection.sendRequest('askBack', String(i))),
    );
    expect(many).toEqual(Array.from({ length: 10 }, (_, i) => `vscode-jsonrpc said ${String(i)}!`));
    expect(asked).toHaveLength(11);
  });

  it('gets our errors with their code and data, and our pushes through onConnection', async (test) => {
    const { server, port } = await ourServer(test);
    const connected = deferred<RpcPeer>();
    server.onConnection((peer) => {
      connected.resolve(peer);
    });
    const { connection } = await vscodeClient(port, test);
    const notes: unknown[] = [];
    connection.onNotification('note', (text: unknown) => notes.push(text));
    connection.onRequest('answer', (question: string) => `${question}?`);
    connection.listen();
    const error = (await connection
      .sendRequest('fail')
      .catch((e: unknown) => e)) as rpc.ResponseError;
    expect(error).toBeInstanceOf(rpc.ResponseError);
    expect({ code: error.code, message: error.message, data: error.data }).toEqual({
      code: 42,
      message: 'not today',
      data: { why: 'test' },
    });
    const peer = await connected.promise;
    await peer.notify('note', ['pushed']);
    await expect(peer.call('answer', ['pushed too'])).resolves.toBe('pushed too?');
    await expect.poll(() => notes).toEqual(['pushed']);
  });

  it('its disconnect fails our pending call back with a TransportError', async (test) => {
    const { server, port } = await ourServer(test);
    const { connection, socket } = await vscodeClient(port, test);
    const called = deferred<undefined>();
    // It never answers: the call back waits until the connection is lost.
    connection.onRequest('answer', () => {
      called.resolve(undefined);
      return new Promise(() => undefined);
    });
    connection.listen();
    const first = connection.sendRequest('askBack', 'lost?').catch((e: unknown) => e);
    await called.promise;
    const peer = server.peers[0] as RpcPeer;
    expect(peer.pendingCount).toBe(1);
    const direct = peer.call('answer', ['second']).catch((e: unknown) => e);
    socket.resetAndDestroy();
    expect(TransportError.is(await direct)).toBe(true);
    expect(peer.pendingCount).toBe(0);
    await expect.poll(() => server.peers).toEqual([]);
    // Its own call stays pending on its side until its connection is disposed (vscode-jsonrpc's
    // way), which rejects it.
    connection.dispose();
    expect(await first).toBeInstanceOf(Error);
  });
});

describe('a vscode-jsonrpc server in a child process over stdio, our RpcPeer', () => {
  function startChild(test: TestContext) {
    const child = spawn(process.execPath, [fixture], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
      }),
    );
    test.onTestFinished(() => {
      child.kill();
    });
    const methods = new RpcDispatcher()
      .add('salute', (name: string) => `Hello ${name}`)
      .add('double', (n: number) => n * 2)
      .add('fail', () => {
        throw new RpcError('refused', { code: -32001 });
      })
      .add('note', (text: string) => {
        notes.push(text);
      });
    const notes: string[] = [];
    const peer = new RpcPeer(
      new StreamClientTransport({
        stream: { readable: child.stdout, writable: child.stdin },
        framing: 'content-length',
      }),
      protocol,
      { dispatcher: methods, timeout: 10_000 },
    );
    test.onTestFinished(() => peer.close());
    return { child, peer, exited, notes, stderr: () => stderr };
  }

  it('it calls back into ours from its handler while our call is in flight', async (test) => {
    const { peer } = startChild(test);
    await expect(peer.call('greet', ['Ada'])).resolves.toBe('Hello Ada, said vscode-jsonrpc');
    await expect(peer.call('sumBack', [10])).resolves.toBe(90);
    expect(peer.pendingCount).toBe(0);
  });

  it('gets our errors as ResponseErrors, our notifications, and exits when we close', async (test) => {
    const { peer, notes, exited, stderr } = startChild(test);
    await expect(peer.call('failBack')).resolves.toEqual({ code: -32001, message: 'refused' });
    await expect(peer.call('notifyBack', ['from the child'])).resolves.toBe('sent');
    await expect.poll(() => notes).toEqual(['from the child']);
    // Unknown to it: vscode-jsonrpc's own "method not found" reaches us as a RemoteError.
    const missing = (await peer.call('nothing').catch((e: unknown) => e)) as RemoteError;
    expect(RemoteError.is(missing)).toBe(true);
    expect(missing.code).toBe(-32601);
    await peer.close();
    expect(await exited, stderr()).toBe(0);
  });

  it('a child that dies fails our pending call with a TransportError', async (test) => {
    const { child, peer } = startChild(test);
    expect(await peer.call('greet', ['Bob'])).toBe('Hello Bob, said vscode-jsonrpc');
    const pending = peer.call('hang').catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGKILL');
    expect(TransportError.is(await pending)).toBe(true);
    expect(peer.pendingCount).toBe(0);
  });
});
