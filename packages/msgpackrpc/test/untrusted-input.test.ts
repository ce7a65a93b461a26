import { exchange } from '@tinyrpc/test-helpers';
import {
  RpcDispatcher,
  RpcServer,
  createMemoryTransport,
  ParseError,
  RpcError,
} from '@tinyrpc/core';
import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';

const plain = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

/** `[0, 1, 'echo', [<ext 0x42 of n bytes>]]`: msgpackr's big-integer extension, as a peer could send it. */
function bigIntegerRequest(n: number): Uint8Array {
  const head = [0x94, 0x00, 0x01, 0xa4, ...Buffer.from('echo'), 0x91, 0xc9];
  const bytes = new Uint8Array(head.length + 5 + n);
  bytes.set(head);
  new DataView(bytes.buffer).setUint32(head.length, n);
  bytes[head.length + 4] = 0x42;
  bytes.fill(0x7f, head.length + 5);
  return bytes;
}

describe('MessagePack-RPC: what msgpackr reads beyond standard MessagePack', () => {
  const protocol = new MsgpackRpcProtocol();

  it('refuses an integer beyond 64 bits as a parse error, so it is never written back', () => {
    // 1 MiB of integer: msgpackr turns it into a bigint whose echo once blocked the loop for seconds.
    let error: unknown;
    try {
      protocol.parseRequest(bigIntegerRequest(1024 * 1024));
    } catch (caught) {
      error = caught;
    }
    expect(ParseError.is(error)).toBe(true);
    expect(((error as RpcError).cause as Error).message).toContain('an integer beyond 64 bits');
    const wire = plain.unpack((error as RpcError).response?.serialize() as Uint8Array) as unknown[];
    expect(wire.slice(0, 2)).toEqual([1, null]);
    expect((wire[2] as unknown[])[0]).toBe(-32700);
  });

  it('still reads 64-bit integers', () => {
    const request = protocol.parseRequest(plain.pack([0, 1, 'echo', [2n ** 63n, -(2n ** 63n)]]));
    expect('batch' in request ? undefined : request.params).toEqual([2n ** 63n, -(2n ** 63n)]);
  });

  it.each([
    ['a Set (0x73)', Uint8Array.from([0x94, 0, 1, 0xa1, 0x6d, 0x91, 0xd4, 0x73, 0x90])],
    ['an error object (0x65)', Uint8Array.from([0x94, 0, 1, 0xa1, 0x6d, 0x91, 0xd4, 0x65, 0x90])],
  ])('refuses %s', (_name, bytes) => {
    expect(() => protocol.parseRequest(bytes)).toThrow(ParseError);
  });

  it('answers the over-long integer over a real server at once and keeps serving', async () => {
    const { client, server: serverTransport } = createMemoryTransport();
    const server = new RpcServer(
      serverTransport,
      new MsgpackRpcProtocol(),
      new RpcDispatcher().add('echo', (value: unknown) => value),
    );
    await server.serve();
    const reply = (await exchange(client, bigIntegerRequest(4 * 1024 * 1024))) as Uint8Array;
    expect(((plain.unpack(reply) as unknown[])[2] as unknown[])[0]).toBe(-32700);
    const ok = (await exchange(client, plain.pack([0, 2, 'echo', [5]]))) as Uint8Array;
    expect(plain.unpack(ok)).toEqual([1, 2, null, 5]);
    await server.close();
  });
});

describe('MessagePack-RPC: content type and the answer to refused input', () => {
  it('labels its messages application/msgpack and builds a nil-msgid error response', () => {
    const protocol = new MsgpackRpcProtocol();
    expect(protocol.contentType).toBe('application/msgpack');
    const response = protocol.createErrorResponse(new RpcError('too big', { code: -32600 }));
    expect(plain.unpack(response.serialize())).toEqual([1, null, [-32600, 'too big'], null]);
  });
});
