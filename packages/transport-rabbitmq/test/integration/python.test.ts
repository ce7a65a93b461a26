import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  InvalidReplyError,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  RpcTimeoutError,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { gate, pythonHas, startPython, type PythonPeer } from '@tinyrpc/test-helpers';
import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
import { brokerAvailable, deleteQueues, uniqueQueue, url } from './broker.ts';

const broker = await brokerAvailable();
const python =
  broker && gate('Python 3 with pika and tinyrpc', await pythonHas(['pika', 'tinyrpc']));
const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(deleteQueues);

function python3(script: string, args: string[]): PythonPeer {
  const peer = startPython(fixture(script), args);
  cleanups.push(() => peer.stop());
  return peer;
}

describe.skipIf(!python)('Python tinyrpc over pika', () => {
  it('calls this server: results, errors with their code, notifications', async () => {
    const queue = uniqueQueue('py-client');
    const memory: string[] = [];
    const dispatcher = new RpcDispatcher()
      .add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] })
      .add('echo', (value: string) => value)
      .add('fail', () => {
        throw new RpcError('Out of stock', { code: 4001, data: { sku: 'x1' } });
      })
      .add('remember', (value: string) => {
        memory.push(value);
      })
      .add('recall', () => memory.at(-1) ?? null);
    const server = new RpcServer(
      new RabbitMqServerTransport({ url, queue }),
      new JsonRpcProtocol(),
      dispatcher,
    );
    await server.serve();
    cleanups.push(() => server.close());

    const peer = python3('pika_client.py', [url, queue]);
    const [, json] = await peer.waitFor(/RESULT (.*)\n/, 15_000);
    expect(JSON.parse(json!)).toEqual({
      add: 3,
      named: 7,
      echo: 'h\u00e9llo \u2713',
      fail: { code: 4001, message: 'Out of stock', data: { sku: 'x1' } },
      missing: { code: -32601, message: 'Method not found' },
      recall: 'from python',
    });
    expect(memory).toEqual(['from python']);
  });

  for (const replyTo of ['direct', 'exclusive'] as const) {
    it(`calls a Python server (${replyTo} reply-to)`, async () => {
      const queue = uniqueQueue(`py-server-${replyTo}`);
      const peer = python3('pika_server.py', [url, queue]);
      await peer.waitFor(/READY/, 15_000);
      const transport = new RabbitMqClientTransport({
        url,
        routingKey: queue,
        replyTo,
        defaultTimeout: 10_000,
      });
      const client = new RpcClient(new JsonRpcProtocol(), transport);
      cleanups.push(() => client.close());

      expect(await client.call('add', [1, 2])).toBe(3);
      expect(await client.call('add', { a: 2, b: 5 })).toBe(7);
      expect(await client.call('echo', ['h\u00e9llo \u2713'])).toBe('h\u00e9llo \u2713');
      const failure = await client.call('fail').catch((e: unknown) => e);
      expect(RemoteError.is(failure)).toBe(true);
      expect(failure).toMatchObject({ code: -32000, message: 'python says no' });
      await expect(client.call('missing')).rejects.toMatchObject({ code: -32601 });
      await client.notify('remember', ['from typescript']);
      expect(await client.call('recall')).toBe('from typescript');
      const many = await Promise.all(
        Array.from({ length: 25 }, (_, i) => client.call('add', [i, i])),
      );
      expect(many).toEqual(Array.from({ length: 25 }, (_, i) => 2 * i));
      expect(transport.pendingCount).toBe(0);

      // A call that times out: its deadline travels as the expiration and a header, and a cancel
      // goes to the cancel exchange that no Python server listens on. The Python server still
      // answers it late; the reply is dropped and the next calls are answered as before.
      await expect(client.call('sleep', [0.4, 'late'], { timeout: 150 })).rejects.toBeInstanceOf(
        RpcTimeoutError,
      );
      expect(await client.call('add', [20, 22])).toBe(42);
      expect(await client.call('echo', ['after'])).toBe('after');
      expect(transport.pendingCount).toBe(0);

      // A stream asked of a Python server: it ignores the Tinyrpc-Stream header and answers once,
      // which the loop reports as not a stream; calls go on as before.
      const streamed = await (async () => {
        for await (const item of client.stream('add', [1, 2])) expect(item).toBeUndefined();
      })().catch((e: unknown) => e);
      expect(streamed).toBeInstanceOf(InvalidReplyError);
      expect(String(streamed)).toMatch(/not a stream/);
      expect(await client.call('add', [2, 3])).toBe(5);
      expect(transport.pendingCount).toBe(0);
    });
  }
});
