// The bytes of a streamed reply, both ways: what the server writes for the documented sequence
// (README, "Streamed results"), what the client asks with, and how the client reads bodies that
// servers of all kinds may send: split anywhere, too large, cut short, or going on after the end.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  TransportError,
  streamHeader,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { listenSeverable, settle, sleep } from '@tinyrpc/test-helpers';
import { HttpClientTransport, HttpServerTransport, ndjsonContentType } from '../src/index.ts';
import { encodeStreamed, streamDecoderFor } from '../src/reply-stream-framing.ts';
import { rawExchange } from './support.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An HTTP response as read off the socket: status line, headers (lower-case names) and body. */
function parseResponse(raw: string): {
  status: string;
  headers: Record<string, string>;
  body: string;
} {
  const end = raw.indexOf('\r\n\r\n');
  const [status, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    let rest = body;
    body = '';
    for (;;) {
      const eol = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, eol), 16);
      if (size === 0) break;
      body += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
  }
  return { status: status as string, headers, body };
}

async function rpcServer(): Promise<HttpServerTransport> {
  const dispatcher = new RpcDispatcher()
    .add('count', async function* (to: number) {
      for (let i = 1; i <= to; i++) {
        await Promise.resolve();
        yield String(i);
      }
    })
    .add('failAfter', async function* (n: number) {
      for (let i = 1; i <= n; i++) {
        await Promise.resolve();
        yield String(i);
      }
      throw new RpcError('ran dry', { code: 4242, data: { at: n } });
    });
  const transport = new HttpServerTransport({ port: 0 });
  const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
  await server.serve();
  cleanups.push(() => server.close());
  return transport;
}

/** A POST of `body` on a fresh connection, with `Tinyrpc-Stream: 16` unless `stream` is false. */
function post(port: number, body: string, stream = true): Promise<string> {
  return rawExchange(
    port,
    'POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      (stream ? `Accept: ${ndjsonContentType}, application/json\r\n${streamHeader}: 16\r\n` : '') +
      `Connection: close\r\nContent-Length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`,
  );
}

describe('the server writes the documented sequence', () => {
  test('items and end: 200, application/x-ndjson, one message a line, the end last', async () => {
    const transport = await rpcServer();
    const raw = await post(
      transport.port as number,
      '{"jsonrpc":"2.0","method":"count","params":[3],"id":5}',
    );
    const { status, headers, body } = parseResponse(raw);
    expect(status).toBe('HTTP/1.1 200 OK');
    expect(headers['content-type']).toBe('application/x-ndjson');
    expect(headers['transfer-encoding']).toBe('chunked');
    expect(headers['content-length']).toBeUndefined();
    expect(body).toBe(
      '{"jsonrpc":"2.0","method":"$/stream/item","params":[5,"1"]}\n' +
        '{"jsonrpc":"2.0","method":"$/stream/item","params":[5,"2"]}\n' +
        '{"jsonrpc":"2.0","method":"$/stream/item","params":[5,"3"]}\n' +
        '{"jsonrpc":"2.0","id":5,"result":{"$stream":"end","items":3}}\n',
    );
  });

  test('an error mid-stream is the last line, after the items', async () => {
    const transport = await rpcServer();
    const raw = await post(
      transport.port as number,
      '{"jsonrpc":"2.0","method":"failAfter","params":[1],"id":6}',
    );
    expect(parseResponse(raw).body).toBe(
      '{"jsonrpc":"2.0","method":"$/stream/item","params":[6,"1"]}\n' +
        '{"jsonrpc":"2.0","id":6,"error":{"code":4242,"message":"ran dry","data":{"at":1}}}\n',
    );
  });

  test('no item, or no Tinyrpc-Stream header: the ordinary answer', async () => {
    const transport = await rpcServer();
    const port = transport.port as number;
    const empty = parseResponse(
      await post(port, '{"jsonrpc":"2.0","method":"count","params":[0],"id":7}'),
    );
    expect(empty.headers['content-type']).toBe('application/json');
    expect(empty.body).toBe('{"jsonrpc":"2.0","id":7,"result":{"$stream":"end","items":0}}');
    // A caller that did not ask (Python tinyrpc, curl) is told to use stream().
    const unasked = parseResponse(
      await post(port, '{"jsonrpc":"2.0","method":"count","params":[3],"id":8}', false),
    );
    expect(unasked.headers['content-type']).toBe('application/json');
    expect(JSON.parse(unasked.body)).toMatchObject({ id: 8, error: { code: -32600 } });
  });
});

/** A node:http server answering each request with `answer`; resolves with its URL. */
async function crafted(
  answer: (request: IncomingMessage, response: ServerResponse) => void | Promise<void>,
): Promise<string> {
  const http = await listenSeverable(
    createServer((request, response) => {
      request.resume();
      request.on('end', () => void answer(request, response));
    }),
  );
  cleanups.push(() => http.close());
  return `http://127.0.0.1:${String(http.port)}/`;
}

const item = (n: number | string): string =>
  JSON.stringify({ jsonrpc: '2.0', method: '$/stream/item', params: [1, n] });
const end = (items: number): string =>
  JSON.stringify({ jsonrpc: '2.0', result: { $stream: 'end', items }, id: 1 });

/** Writes `parts` as separate chunks with a pause between, so they arrive apart. */
async function writeApart(response: ServerResponse, parts: (string | Buffer)[]): Promise<void> {
  response.writeHead(200, { 'content-type': ndjsonContentType });
  for (const part of parts) {
    response.write(part);
    await sleep(15);
  }
  response.end();
}

function streamFrom(url: string, options: { maxMessageSize?: number } = {}) {
  const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url, options));
  cleanups.push(() => client.close());
  const items: unknown[] = [];
  return {
    items,
    outcome: settle(
      (async () => {
        for await (const value of client.stream('anything')) items.push(value);
      })(),
    ),
  };
}

describe('the client reads streamed bodies', () => {
  test('asks with Tinyrpc-Stream (the highWaterMark) and Accept', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const url = await crafted((request, response) => {
      seen.push(request.headers);
      response.writeHead(200, { 'content-type': 'application/json' }).end(end(0));
    });
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    cleanups.push(() => client.close());
    for await (const value of client.stream('x', [], { highWaterMark: 5 })) expect(value).toBe(0);
    await client.call('x').catch(() => undefined);
    expect(seen[0]).toMatchObject({
      'tinyrpc-stream': '5',
      accept: 'application/x-ndjson, application/json',
    });
    // A plain call asks for nothing of it.
    expect(seen[1]?.['tinyrpc-stream']).toBeUndefined();
    expect(seen[1]?.accept).not.toContain(ndjsonContentType);
  });

  test('messages split across chunks, a character split in its bytes, blank lines', async () => {
    const whole = `${item('é€😀')}\n`;
    const bytes = Buffer.from(whole);
    const cut = bytes.indexOf(Buffer.from('€')) + 1; // inside the three bytes of €
    const url = await crafted((_, response) =>
      writeApart(response, [
        bytes.subarray(0, cut),
        bytes.subarray(cut),
        '\n',
        item(2).slice(0, 10),
        `${item(2).slice(10)}\n${end(2).slice(0, 5)}`,
        `${end(2).slice(5)}\n`,
      ]),
    );
    const { items, outcome } = streamFrom(url);
    expect(await outcome).toEqual({ ok: true, value: undefined });
    expect(items).toEqual(['é€😀', 2]);
  });

  test('a line over maxMessageSize fails with a TransportError naming the limit', async () => {
    const url = await crafted((_, response) =>
      writeApart(response, [`${item(1)}\n`, `${item('y'.repeat(3000))}\n`, `${end(2)}\n`]),
    );
    const { items, outcome } = streamFrom(url, { maxMessageSize: 1000 });
    const result = await outcome;
    expect(items).toEqual([1]);
    expect(result.ok).toBe(false);
    const error = (result as { error: unknown }).error;
    expect(TransportError.is(error)).toBe(true);
    expect(String(error)).toMatch(/over the limit of 1000 bytes \(maxMessageSize\)/);
  });

  test('a line that never ends fails once it passes the limit, not at the end of the body', async () => {
    let wrote = 0;
    const url = await crafted(async (_, response) => {
      response.writeHead(200, { 'content-type': ndjsonContentType });
      // 4 KB chunks of one endless line, until the client lets go (or 10 MB, far past the limit).
      while (!response.destroyed && wrote < 10_000_000) {
        if (!response.write('z'.repeat(4096))) await sleep(5);
        wrote += 4096;
      }
      response.end();
    });
    const { outcome } = streamFrom(url, { maxMessageSize: 64 * 1024 });
    expect(String(((await outcome) as { error: unknown }).error)).toMatch(/maxMessageSize/);
    await sleep(50);
    // The kernel's buffers hold some; the rest of the 10 MB was never written.
    expect(wrote).toBeLessThan(10_000_000);
  });

  test('a body that ends before the reply that ends the stream is a broken stream', async () => {
    const url = await crafted((_, response) => writeApart(response, [`${item(1)}\n`, '{"json']));
    const { items, outcome } = streamFrom(url);
    const result = await outcome;
    expect(items).toEqual([1]);
    expect(TransportError.is((result as { error: unknown }).error)).toBe(true);
    expect(String((result as { error: unknown }).error)).toMatch(/ended before the reply/);
  });

  test('data after the reply that ends the stream is a broken stream', async () => {
    const url = await crafted((_, response) =>
      writeApart(response, [`${item(1)}\n${end(1)}\n`, `${item(2)}\n`]),
    );
    const { outcome } = streamFrom(url);
    const result = await outcome;
    expect(TransportError.is((result as { error: unknown }).error)).toBe(true);
    expect(String((result as { error: unknown }).error)).toMatch(/goes on after the reply/);
  });

  test('a server that does not stream answers an ordinary reply: "not a stream"', async () => {
    const url = await crafted((_, response) => {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"jsonrpc":"2.0","result":42,"id":1}');
    });
    const { items, outcome } = streamFrom(url);
    const result = await outcome;
    expect(items).toEqual([]);
    expect(String((result as { error: unknown }).error)).toMatch(/not a stream/);
  });
});

describe('framing round trips, however the body is cut into chunks', () => {
  /** Cuts `bytes` at the given points (taken modulo its length) and decodes the pieces. */
  function decodeCut(contentType: string, bytes: Uint8Array, cuts: number[]): Uint8Array[] {
    const decoder = streamDecoderFor(contentType, 1 << 20);
    if (decoder === undefined) throw new Error('no decoder');
    const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let from = 0;
    for (const point of [...points, bytes.length]) {
      out.push(...decoder.push(bytes.slice(from, point)));
      from = point;
    }
    expect(decoder.buffered).toBe(0);
    return out;
  }

  const join = (parts: (string | Uint8Array)[]): Uint8Array =>
    Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));

  test('NDJSON lines', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => !s.includes('\n'))),
        fc.array(fc.nat()),
        (messages, cuts) => {
          const bytes = join(messages.map((message) => encodeStreamed(message, true)));
          const decoded = decodeCut(ndjsonContentType, bytes, cuts);
          expect(decoded.map((line) => Buffer.from(line).toString())).toEqual(messages);
        },
      ),
    );
  });

  test('length-prefixed frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 })),
        fc.array(fc.nat()),
        (messages, cuts) => {
          const bytes = join(messages.map((message) => encodeStreamed(message, false)));
          const decoded = decodeCut('application/vnd.tinyrpc.frames', bytes, cuts);
          expect(decoded.map((frame) => [...frame])).toEqual(messages.map((m) => [...m]));
        },
      ),
    );
  });

  test('a frame announcing more than the limit is refused before its bytes arrive', () => {
    const decoder = streamDecoderFor('application/vnd.tinyrpc.frames', 1000);
    expect(() => decoder?.push(new Uint8Array([0, 0, 0x10, 0]))).toThrow(
      /A message of 4096 bytes is over the limit of 1000 bytes \(maxMessageSize\)/,
    );
  });

  test('a line break in a text message, or a message of the other kind, is refused', () => {
    expect(() => encodeStreamed('{\n}', true)).toThrow(/line break/);
    expect(() => encodeStreamed(new Uint8Array(1), true)).toThrow(TransportError);
    expect(() => encodeStreamed('x', false)).toThrow(TransportError);
  });
});
