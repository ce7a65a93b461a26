import { afterEach, describe, expect, it } from 'vitest';
import {
  createMemoryTransport,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  type Message,
} from '@tinyrpc/core';
import { StubProtocol } from './stubs.ts';

interface Api {
  add(a: number, b: number): number;
  log(line: string): void;
}

let server: RpcServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setUp() {
  const received: string[] = [];
  const logged: string[] = [];
  const dispatcher = new RpcDispatcher()
    .add('add', (a: number, b: number) => a + b)
    .add('math.add', (a: number, b: number) => a + b + 1000)
    .add('log', (line: string) => {
      logged.push(line);
    });
  const { client: ct, server: st } = createMemoryTransport();
  server = new RpcServer(st, new StubProtocol(), dispatcher, {
    trace: (direction, _context, message: Message) => {
      if (direction === '-->') received.push(message as string);
    },
  });
  await server.serve();
  return { client: new RpcClient(new StubProtocol(), ct), received, logged };
}

describe('getProxy', () => {
  it('calls remote methods by property name, with the prefix', async () => {
    const { client } = await setUp();
    const remote = client.getProxy<Api>();
    expect(await remote.add(1, 2)).toBe(3);
    const math = client.getProxy<Api>({ prefix: 'math.' });
    expect(await math.add(1, 2)).toBe(1003);
    expect(remote.add).toBe(remote.add);
  });

  it('sends notifications when oneWay', async () => {
    const { client, received, logged } = await setUp();
    const remote = client.getProxy<Api>({ oneWay: true });
    await expect(remote.log('hello')).resolves.toBeUndefined();
    await expect(remote.add(1, 2)).resolves.toBeUndefined();
    expect(logged).toEqual(['hello']);
    expect(received.map((m) => JSON.parse(m) as { id?: unknown })).toEqual([
      { method: 'log', params: ['hello'] },
      { method: 'add', params: [1, 2] },
    ]);
  });

  it('can be awaited without making a call', async () => {
    const { client, received } = await setUp();
    const remote = client.getProxy<Api>();
    expect((remote as unknown as { then?: unknown }).then).toBeUndefined();
    // eslint-disable-next-line @typescript-eslint/await-thenable -- awaiting it is the point
    expect(await remote).toBe(remote);
    expect(await Promise.resolve(remote)).toBe(remote);
    expect(received).toEqual([]);
  });

  it('has no symbol-keyed members', async () => {
    const { client } = await setUp();
    const remote = client.getProxy<Api>() as unknown as Record<symbol, unknown>;
    expect(remote[Symbol.iterator]).toBeUndefined();
    expect(remote[Symbol.toPrimitive]).toBeUndefined();
  });
});
