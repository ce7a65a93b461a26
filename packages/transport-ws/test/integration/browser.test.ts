import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError, RpcServer, type CallContext, type RpcPeer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { gate } from '@tinyrpc/test-helpers';
import { WsServerTransport } from '@tinyrpc/transport-ws';
import { testDispatcher, waitUntil } from '../helpers.ts';

const executablePath = '/usr/bin/chromium';
const available = gate('chromium', existsSync(executablePath));

describe.runIf(available)('WsClientTransport in a real browser (headless Chromium)', () => {
  let browser: Browser;
  let http: Server;
  let rpc: RpcServer;
  let transport: WsServerTransport;
  let bundleInputs: string[];
  const sockets = new Set<Duplex>();
  const streamed = { produced: 0, ended: 0 };

  beforeAll(async () => {
    // Bundle the page's script as a browser build would: platform browser, package names resolved
    // through their export maps (sources via the @tinyrpc/source condition, so no build is needed).
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./browser/entry.ts', import.meta.url))],
      absWorkingDir: fileURLToPath(new URL('../..', import.meta.url)),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      conditions: ['@tinyrpc/source'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    bundleInputs = Object.keys(result.metafile.inputs);
    const bundle = result.outputFiles[0]!.text;
    const page =
      '<!doctype html><meta charset="utf-8"><title>tinyrpc ws</title><script type="module" src="/bundle.js"></script>';

    // One port for the page and the WebSocket endpoint, as an app serving both would have it.
    http = createServer((request, response) => {
      if (request.url === '/bundle.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      } else {
        response.writeHead(200, { 'content-type': 'text/html' }).end(page);
      }
    });
    http.on('upgrade', (_request, socket: Duplex) => {
      sockets.add(socket);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    transport = new WsServerTransport({ server: http, path: '/ws' });
    const dispatcher = testDispatcher();
    dispatcher.add(
      'askPage',
      async (context: CallContext, question: string) =>
        `the page said: ${String(await context.peer?.call('pageAnswer', [question]))}`,
      { context: true },
    );
    dispatcher.add('countTo', async function* (to: number) {
      try {
        for (let i = 1; i <= to; i++) {
          streamed.produced = i;
          await Promise.resolve();
          yield i;
        }
      } finally {
        streamed.ended += 1;
      }
    });
    dispatcher.add('failAfter', async function* (n: number) {
      for (let i = 1; i <= n; i++) yield await Promise.resolve(i);
      throw new RemoteError('ran dry', { code: 4242, data: { at: n } });
    });
    rpc = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
    await rpc.serve();

    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser.close();
    await rpc.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => {
      http.close(() => {
        resolve();
      });
    });
  });

  it('the browser bundle does not contain ws or the Node client', () => {
    // Paths are relative to the package folder.
    expect(bundleInputs).toContain('src/browser.ts');
    expect(bundleInputs).toContain('src/ws-client-transport.ts');
    expect(bundleInputs.filter((path) => /(^|\/)ws\//.test(path))).toEqual([]);
    // This package's Node files (core's transport kit, which the client uses, runs anywhere).
    expect(bundleInputs.filter((path) => /^src\/(node-|ws-server|index\.ts$)/.test(path))).toEqual(
      [],
    );
  });

  it('calls a real WsServerTransport from the page, and sees a lost connection fail its call', async () => {
    const page = await browser.newPage();
    const port = (http.address() as { port: number }).port;
    const origin = `http://127.0.0.1:${String(port)}`;
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'runCalls' in globalThis);

    const results = await page.evaluate(
      (url) =>
        (
          globalThis as unknown as { runCalls(u: string): Promise<Record<string, unknown>> }
        ).runCalls(url),
      `ws://127.0.0.1:${String(port)}/ws`,
    );
    expect(results['platformWebSocket']).toBe('function');
    expect(results['add']).toBe(3);
    expect(results['named']).toBe(42);
    expect(results['reversed']).toBe('!dlroW ,olleH');
    expect(results['error']).toMatchObject({
      ok: false,
      name: 'RemoteError',
      code: -32000,
      message: 'broken in the browser',
    });
    expect(results['missing']).toMatchObject({ ok: false, code: -32601 });
    expect(results['batch']).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'fulfilled' },
      { status: 'fulfilled', value: 'cba' },
    ]);
    expect(results['concurrent']).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(results['replyTypes']).toEqual(['string']);
    expect(transport.connectionCount).toBe(1);

    // Drop the connection from the server side, as a crash would: the pending call fails at once.
    await page.evaluate(() => {
      (globalThis as unknown as { startHanging(): void }).startHanging();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const socket of sockets) socket.destroy();
    const outcome = await page.evaluate(() =>
      (globalThis as unknown as { hangingOutcome(): Promise<unknown> }).hangingOutcome(),
    );
    expect(outcome).toMatchObject({ ok: false, name: 'TransportError', isTransportError: true });
    expect((outcome as { message: string }).message).toMatch(/closed \(code 1006\)/);
    await waitUntil(() => transport.connectionCount === 0);

    // The next call connects again.
    const again = await page.evaluate(() =>
      (globalThis as unknown as { afterLoss(): Promise<unknown> }).afterLoss(),
    );
    expect(again).toEqual({ ok: true, value: 10 });
    await page.close();
  });

  it('serves methods from the page (RpcPeer) that the Node server calls, from a handler and on its own', async () => {
    const page = await browser.newPage();
    const port = (http.address() as { port: number }).port;
    await page.goto(`http://127.0.0.1:${String(port)}/`);
    await page.waitForFunction(() => 'servePage' in globalThis);
    const connected = new Promise<RpcPeer>((resolve) => {
      const stop = rpc.onConnection((peer) => {
        stop();
        resolve(peer);
      });
    });

    const asked = await page.evaluate(
      (url) => (globalThis as unknown as { servePage(u: string): Promise<unknown> }).servePage(url),
      `ws://127.0.0.1:${String(port)}/ws`,
    );
    expect(asked).toEqual({ ok: true, value: 'the page said: the page says hello' });

    const peer = await connected;
    expect(rpc.peers).toContain(peer);
    await expect(peer.call('pageAnswer', ['Node'])).resolves.toBe('the page says Node');
    // It is the browser that answers.
    await expect(peer.call('pageUserAgent')).resolves.toMatch(/HeadlessChrome/);
    const missing = await peer.call('noSuchPageMethod').catch((e: unknown) => e);
    expect(RemoteError.is(missing)).toBe(true);
    expect((missing as RemoteError).code).toBe(-32601);
    await peer.notify('pageEvent', [42]);
    await expect
      .poll(() =>
        page.evaluate(() =>
          (globalThis as unknown as { servedEvents(): unknown[] }).servedEvents(),
        ),
      )
      .toEqual([42]);

    await page.close();
    await waitUntil(() => !rpc.peers.includes(peer));
  });

  it('iterates streams from the Node server in the page: to the end, with break, and an error mid-stream', async () => {
    const page = await browser.newPage();
    const port = (http.address() as { port: number }).port;
    await page.goto(`http://127.0.0.1:${String(port)}/`);
    await page.waitForFunction(() => 'streamItems' in globalThis);
    const results = await page.evaluate(
      (url) =>
        (
          globalThis as unknown as { streamItems(u: string): Promise<Record<string, unknown>> }
        ).streamItems(url),
      `ws://127.0.0.1:${String(port)}/ws`,
    );
    expect(results['all']).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(results['untilBreak']).toEqual([1, 2, 3, 4, 5]);
    // Both countTo generators ended (finally ran); the second never ran far past the break.
    await waitUntil(() => streamed.ended === 2);
    expect(streamed.produced).toBeLessThanOrEqual(5 + 4 + 1);
    expect(results['beforeError']).toEqual([1, 2, 3]);
    expect(results['failure']).toMatchObject({
      ok: false,
      name: 'RemoteError',
      code: 4242,
      message: 'ran dry',
    });
    expect(results['after']).toBe(5);
    await page.close();
  });
});
