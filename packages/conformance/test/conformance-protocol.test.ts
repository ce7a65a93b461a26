import { describe, expect, it } from 'vitest';
import { ConformanceProtocol, runProtocolConformance } from '@tinyrpc/conformance';
import { InvalidReplyError, ParseError, RpcError } from '@tinyrpc/core';

for (const encoding of ['text', 'binary'] as const) {
  runProtocolConformance(
    { describe, it },
    {
      name: `ConformanceProtocol (${encoding})`,
      createProtocol: () => new ConformanceProtocol({ encoding }),
      capabilities: { batch: false, binaryValues: true, namedParams: true },
    },
  );
}

describe('ConformanceProtocol', () => {
  it('produces strings in text encoding and bytes in binary encoding', () => {
    const request = (encoding: 'text' | 'binary') =>
      new ConformanceProtocol({ encoding }).createRequest('echo', ['x']).serialize();
    expect(typeof request('text')).toBe('string');
    expect(request('binary')).toBeInstanceOf(Uint8Array);
  });

  it('carries byte values raw in binary encoding', () => {
    const bytes = Uint8Array.from([0, 10, 13, 255, 0xc1]);
    const message = new ConformanceProtocol({ encoding: 'binary' })
      .createRequest('echo', [bytes])
      .serialize() as Uint8Array;
    const tail = message.subarray(message.length - bytes.length);
    expect([...tail]).toEqual([...bytes]);
  });

  it('reads text messages that arrive as bytes', () => {
    const protocol = new ConformanceProtocol();
    const text = protocol.createRequest('echo', ['é']).serialize() as string;
    const parsed = protocol.parseRequest(new TextEncoder().encode(text));
    expect('batch' in parsed ? undefined : parsed.params).toEqual(['é']);
  });

  it('rejects a binary message that arrived as text, and truncated ones', () => {
    const protocol = new ConformanceProtocol({ encoding: 'binary' });
    const message = protocol.createRequest('echo', [new Uint8Array(10)]).serialize() as Uint8Array;
    expect(() => protocol.parseRequest('text')).toThrow(ParseError);
    for (const length of [0, 3, 5, 20, message.length - 1]) {
      let error: unknown;
      try {
        protocol.parseRequest(message.subarray(0, length));
      } catch (thrown) {
        error = thrown;
      }
      expect(RpcError.is(error)).toBe(true);
      expect((error as RpcError).response?.id).toBe(null);
    }
    expect(() => protocol.parseReply(message.subarray(0, 7))).toThrow(InvalidReplyError);
  });

  it('answers an invalid request with its id when the id is readable', () => {
    const protocol = new ConformanceProtocol();
    let error: RpcError | undefined;
    try {
      protocol.parseRequest('{"id":7,"method":3}');
    } catch (thrown) {
      error = thrown as RpcError;
    }
    expect(error?.code).toBe(-32600);
    expect(error?.response?.id).toBe(7);
  });
});
