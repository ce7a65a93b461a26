// A server that streams a 400 MB reply: the client reads no more than its limit and one chunk, and
// its memory stays bounded. Before maxMessageSize it read the whole reply into memory.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, expect, test } from 'vitest';
import { TransportError } from '@tinyrpc/core';
import { HttpClientTransport } from '../src/index.ts';

const total = 400 * 1024 * 1024;
const chunk = Buffer.alloc(64 * 1024, 0x78);
let written = 0;

// Writes `total` bytes in chunks, as fast as the client reads them and no faster, until it is gone.
function stream(response: ServerResponse, declare: boolean): void {
  response.writeHead(200, {
    'content-type': 'application/json',
    ...(declare ? { 'content-length': String(total) } : {}),
  });
  let sent = 0;
  const more = (): void => {
    while (sent < total && !response.destroyed) {
      sent += chunk.length;
      written += chunk.length;
      if (!response.write(chunk)) {
        response.once('drain', more);
        return;
      }
    }
    if (!response.destroyed) response.end();
  };
  more();
}

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    stream(response, request.url === '/declared');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const megabytes = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

test('a 400 MB streamed reply is refused after the limit, with memory bounded', async () => {
  globalThis.gc?.();
  const before = process.memoryUsage();
  const transport = new HttpClientTransport(`${base}/streamed`);
  for (let i = 0; i < 5; i++) {
    written = 0;
    const error = await transport.send('{}').catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toBe(
      'A message is over the limit of 1048576 bytes (maxMessageSize)',
    );
    // The server got to write the limit, what the sockets buffer, and no more: not 400 MB.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(written).toBeLessThan(32 * 1024 * 1024);
  }
  const after = process.memoryUsage();
  const growth = {
    rss: megabytes(after.rss - before.rss),
    arrayBuffers: megabytes(after.arrayBuffers - before.arrayBuffers),
  };
  console.log(
    `400 MB streamed reply, 5 times: rss ${String(megabytes(before.rss))} -> ${String(megabytes(after.rss))} MB, ` +
      `arrayBuffers ${String(megabytes(before.arrayBuffers))} -> ${String(megabytes(after.arrayBuffers))} MB, ` +
      `server wrote ${String(megabytes(written))} MB of the last one`,
  );
  expect(growth.rss).toBeLessThan(100);
  expect(growth.arrayBuffers).toBeLessThan(50);
});

test('a reply that declares 400 MB is refused before any of it is read', async () => {
  written = 0;
  const error = await new HttpClientTransport(`${base}/declared`)
    .send(new Uint8Array([1]))
    .catch((e: unknown) => e);
  expect(TransportError.is(error)).toBe(true);
  expect((error as Error).message).toBe(
    `A message of ${String(total)} bytes is over the limit of 1048576 bytes (maxMessageSize)`,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(written).toBeLessThan(32 * 1024 * 1024);
});
