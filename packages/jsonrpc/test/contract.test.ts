import {
  InvalidRequestError,
  RpcClient,
  RpcError,
  type ClientTransport,
  type ClientTransportListener,
  RpcDispatcher,
  RpcServer,
  createMemoryTransport,
  type ListenOptions,
  type Message,
  type MessageHandler,
  type SendOptions,
  type ServerTransport,
  type TraceDirection,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { describe, expect, it } from 'vitest';

describe('JsonRpcProtocol: content type and the answer to refused input', () => {
  it('labels its messages application/json and answers refused input with id null', () => {
    const protocol = new JsonRpcProtocol();
    expect(protocol.contentType).toBe('application/json');
    const error = new InvalidRequestError('A message of 9 bytes is over the limit of 8 bytes');
    expect(JSON.parse(protocol.createErrorResponse(error).serialize())).toStrictEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'A message of 9 bytes is over the limit of 8 bytes' },
    });
  });
});

describe('what RpcServer and RpcClient tell their transports', () => {
  it('the server hands listen() the content type and an errorReply built by the protocol', async () => {
    let seen: ListenOptions | undefined;
    const transport: ServerTransport = {
      specificationVersion: 1,
      listen(_handler: MessageHandler, options?: ListenOptions) {
        seen = options;
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    const server = new RpcServer(transport, new JsonRpcProtocol(), new RpcDispatcher());
    await server.serve();
    expect(seen?.contentType).toBe('application/json');
    const reply = seen?.errorReply?.(new InvalidRequestError('too large'));
    expect(JSON.parse(reply as string)).toMatchObject({ id: null, error: { code: -32600 } });
    // Given the refused message, the reply carries its id; a notification gets none.
    const busy = new RpcError('Server busy (maxInFlight)');
    const call = JSON.stringify({ jsonrpc: '2.0', method: 'm', id: 7 });
    expect(JSON.parse(seen?.errorReply?.(busy, call) as string)).toMatchObject({
      id: 7,
      error: { code: -32000, message: 'Server busy (maxInFlight)' },
    });
    const note = JSON.stringify({ jsonrpc: '2.0', method: 'm' });
    expect(seen?.errorReply?.(busy, note)).toBeUndefined();
    const batch = JSON.stringify([
      JSON.parse(call),
      JSON.parse(note),
      { jsonrpc: '2.0', method: 'm', id: 8 },
    ]);
    expect(
      (JSON.parse(seen?.errorReply?.(busy, batch) as string) as { id: number }[]).map((r) => r.id),
    ).toEqual([7, 8]);
    expect(JSON.parse(seen?.errorReply?.(busy, 'not json') as string)).toMatchObject({ id: null });
    await server.close();
  });

  it('the client labels every send with the protocol content type, and honours defaultTimeout', async () => {
    const sent: SendOptions[] = [];
    const client = new RpcClient(new JsonRpcProtocol(), {
      specificationVersion: 1,
      kind: 'request-reply',
      defaultTimeout: 30,
      send: (_message: Message, options?: SendOptions) => {
        sent.push(options ?? {});
        return new Promise(() => undefined); // never answers
      },
    });
    await expect(client.call('slow')).rejects.toThrow('Call timed out after 30 ms');
    void client.notify('note');
    expect(sent[0]).toMatchObject({ contentType: 'application/json', expectReply: true });
    expect(sent[0]?.signal?.aborted).toBe(true);
    expect(sent[1]).toStrictEqual({ contentType: 'application/json', expectReply: false });
  });
});

describe('trace directions', () => {
  it("are the wire's on both sides: '-->' client to server, '<--' server to client", async () => {
    const { client: clientTransport, server: serverTransport } = createMemoryTransport();
    const seen: string[] = [];
    const record =
      (side: string) =>
      (direction: TraceDirection, _context: unknown, message: Message): void => {
        seen.push(
          `${side} ${direction} ${(JSON.parse(message as string) as { method?: string }).method ?? 'reply'}`,
        );
      };
    const server = new RpcServer(
      serverTransport,
      new JsonRpcProtocol(),
      new RpcDispatcher().add('ping', () => 'pong'),
      { trace: record('server') },
    );
    await server.serve();
    const client = new RpcClient(new JsonRpcProtocol(), clientTransport, {
      trace: record('client'),
    });
    await client.call('ping');
    expect(seen).toEqual([
      'client --> ping',
      'server --> ping',
      'server <-- reply',
      'client <-- reply',
    ]);
    await server.close();
  });
});

describe('an error reply with id null on a connection', () => {
  const connection = (): {
    transport: ClientTransport;
    reply: (message: string) => void;
  } => {
    let listener: ClientTransportListener | undefined;
    return {
      transport: {
        specificationVersion: 1,
        kind: 'connection',
        send: () => Promise.resolve(undefined),
        subscribe: (l: ClientTransportListener) => {
          listener = l;
          return () => undefined;
        },
      },
      reply: (message) => listener?.onMessage(message),
    };
  };
  const refusal = JSON.stringify({
    jsonrpc: '2.0',
    id: null,
    error: { code: -32600, message: 'A message is over the limit of 10 bytes (maxMessageSize)' },
  });

  it('answers the call when it is the only one waiting', async () => {
    const { transport, reply } = connection();
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    const call = client.call('big', ['x'.repeat(100)]);
    await Promise.resolve();
    reply(refusal);
    await expect(call).rejects.toMatchObject({ code: -32600, remote: true });
    expect(client.pendingCount).toBe(0);
  });

  it('goes to onError and disturbs nothing when several calls wait', async () => {
    const { transport, reply } = connection();
    const strays: RpcError[] = [];
    const client = new RpcClient(new JsonRpcProtocol(), transport, {
      onError: (error) => strays.push(error),
    });
    const first = client.call('a', [], { timeout: 50 });
    const second = client.call('b', [], { timeout: 50 });
    await Promise.resolve();
    reply(refusal);
    expect(strays).toHaveLength(1);
    expect(client.pendingCount).toBe(2);
    await expect(first).rejects.toThrow('timed out');
    await expect(second).rejects.toThrow('timed out');
  });
});
