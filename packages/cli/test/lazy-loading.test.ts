// A command loads only the transport and protocol its URL and options name.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defer, serveShop, tinyrpc } from './support.ts';

const recorder = new URL('./fixtures/record-imports.mjs', import.meta.url).href;
const heavy = ['ws', 'zeromq', 'amqplib', 'msgpackr'];
const transports = ['http', 'ws', 'stream', 'zmq', 'rabbitmq'].map(
  (name) => `@tinyrpc/transport-${name}`,
);

async function packagesLoaded(args: readonly string[]): Promise<Set<string>> {
  const file = join(tmpdir(), `tinyrpc-cli-imports-${randomUUID()}.txt`);
  defer(() => {
    rmSync(file, { force: true });
  });
  const run = await tinyrpc(args, {
    nodeOptions: ['--import', recorder],
    env: { RECORD_IMPORTS: file },
  });
  expect(run).toMatchObject({ code: 0, stderr: '' });
  return new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
}

describe('lazy loading', () => {
  it('call http://… loads the HTTP transport and JSON-RPC, and nothing else', async () => {
    const { url } = await serveShop('http');
    const loaded = await packagesLoaded(['call', url, 'echo', '1']);
    expect(loaded).toContain('@tinyrpc/transport-http');
    expect(loaded).toContain('@tinyrpc/jsonrpc');
    for (const name of [
      ...transports.filter((t) => !t.endsWith('-http')),
      '@tinyrpc/msgpackrpc',
      ...heavy,
    ]) {
      expect(loaded).not.toContain(name);
    }
  });

  it('call tcp://… --protocol msgpack loads streams and MessagePack, not HTTP or JSON-RPC', async () => {
    const { url } = await serveShop('tcp', 'msgpack');
    const loaded = await packagesLoaded(['call', url, 'echo', '1', '--protocol', 'msgpack']);
    expect(loaded).toContain('@tinyrpc/transport-stream');
    expect(loaded).toContain('@tinyrpc/msgpackrpc');
    for (const name of ['@tinyrpc/transport-http', '@tinyrpc/jsonrpc', 'ws', 'zeromq', 'amqplib']) {
      expect(loaded).not.toContain(name);
    }
  });
});
