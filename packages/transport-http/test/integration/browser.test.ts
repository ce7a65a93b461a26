// HttpClientTransport in headless Chromium calling a Node server on another origin (CORS): a call
// the page aborts, and one that times out, abort the Node handler's signal; the timeout's deadline
// travels as Tinyrpc-Deadline through the CORS preflight. The page iterates streams read with the
// browser's fetch body, and its break ends the Node generator.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcDispatcher, RpcServer, TransportError, type CallContext } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { gate, waitUntil } from '@tinyrpc/test-helpers';
import { HttpServerTransport } from '@tinyrpc/transport-http';

const executablePath = '/usr/bin/chromium';
const available = gate('chromium', existsSync(executablePath));

/** How late the handler's signal may abort after the moment it should (the machine is busy). */
const bound = 2000;

/** What the handler of one call saw. */
interface Seen {
  readonly label: string;
  readonly deadline: number | undefined;
  readonly header: unknown;
  aborted?: { at: number; reason: unknown };
  /** When the transport's signal (the request's connection) aborted. */
  gone?: number;
}

interface Outcome {
  readonly ok: boolean;
  readonly name?: string;
  readonly message?: string;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${String((server.address() as { port: number }).port)}`);
    });
  });
}

function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

describe.runIf(available)('HttpClientTransport in a real browser (headless Chromium)', () => {
  let browser: Browser;
  let pages: Server;
  let api: Server;
  let rpc: RpcServer;
  let pageOrigin: string;
  let rpcUrl: string;
  const seen: Seen[] = [];
  const preflights: (string | undefined)[] = [];
  const ticksEnded: number[] = [];
  let produced = 0;

  beforeAll(async () => {
    // Bundled as a browser build would be: platform browser, sources via the @tinyrpc/source condition.
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./browser/entry.ts', import.meta.url))],
      absWorkingDir: fileURLToPath(new URL('../..', import.meta.url)),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      conditions: ['@tinyrpc/source'],
      write: false,
      logLevel: 'silent',
    });
    const bundle = result.outputFiles[0]!.text;
    const html =
      '<!doctype html><meta charset="utf-8"><title>tinyrpc http</title><script type="module" src="/bundle.js"></script>';
    pages = createServer((request, response) => {
      if (request.url === '/bundle.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      } else {
        response.writeHead(200, { 'content-type': 'text/html' }).end(html);
      }
    });
    pageOrigin = await listen(pages);

    const dispatcher = new RpcDispatcher()
      .add(
        'ticks',
        async function* (context: CallContext) {
          try {
            for (let tick = 1; !context.signal.aborted; tick++) {
              produced = tick;
              yield tick;
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          } finally {
            ticksEnded.push(Date.now());
          }
        },
        { context: true },
      )
      .add('count', async function* (to: number) {
        for (let i = 1; i <= to; i++) {
          await Promise.resolve();
          yield i;
        }
      })
      .add(
        'wait',
        (context: CallContext, label: string) => {
          const entry: Seen = {
            label,
            deadline: context.deadline,
            header: context.transport.headers?.['tinyrpc-deadline'],
          };
          seen.push(entry);
          const connection = context.transport.signal as AbortSignal;
          // Answers only once the request is gone, so that an answer sent at the deadline cannot
          // beat the browser's closing of the request.
          return new Promise((resolve) => {
            const timer = setTimeout(() => {
              resolve('not aborted');
            }, 10_000);
            connection.addEventListener(
              'abort',
              () => {
                entry.gone = Date.now();
                clearTimeout(timer);
                resolve('gone');
              },
              { once: true },
            );
            context.signal.addEventListener(
              'abort',
              () => {
                entry.aborted = { at: Date.now(), reason: context.signal.reason };
              },
              { once: true },
            );
          });
        },
        { context: true },
      );
    // Another port is another origin: the page's calls are CORS requests with a preflight.
    const transport = new HttpServerTransport({ allowOrigin: '*' });
    rpc = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
    await rpc.serve();
    api = createServer((request, response) => {
      if (request.method === 'OPTIONS') {
        preflights.push(request.headers['access-control-request-headers']);
      }
      transport.handle(request, response);
    });
    rpcUrl = `${await listen(api)}/rpc`;

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

  it('the page iterates a stream from the Node server; break ends its generator', async () => {
    const page = await browser.newPage();
    await page.goto(`${pageOrigin}/`);
    await page.waitForFunction(() => 'ready' in globalThis);
    const all = await page.evaluate(
      ([url, to]) =>
        (globalThis as unknown as { streamAll(u: string, t: number): Promise<Outcome> }).streamAll(
          url,
          to,
        ),
      [rpcUrl, 300] as const,
    );
    expect(all).toEqual({ ok: true, value: Array.from({ length: 300 }, (_, i) => i + 1) });
    const outcome = await page.evaluate(
      ([url, at]) =>
        (
          globalThis as unknown as { streamTicks(u: string, b: number): Promise<Outcome> }
        ).streamTicks(url, at),
      [rpcUrl, 5] as const,
    );
    const brokeAt = Date.now();
    expect(outcome).toEqual({ ok: true, value: [1, 2, 3, 4, 5] });
    // The browser closed the request: the Node generator's finally ran, and it produces no more.
    await waitUntil(() => ticksEnded.length === 1, bound + 1000);
    expect((ticksEnded[0] as number) - brokeAt).toBeLessThan(bound);
    const last = produced;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(produced).toBe(last);
    // The preflight asked for the stream header, and the server allowed it.
    expect(preflights.some((asked) => asked?.includes('tinyrpc-stream'))).toBe(true);
    await page.close();
  });

  afterAll(async () => {
    await browser.close();
    await rpc.close();
    await shut(api);
    await shut(pages);
  });

  it("a fetch the page aborts aborts the Node handler's signal", async () => {
    const page = await browser.newPage();
    await page.goto(`${pageOrigin}/`);
    await page.waitForFunction(() => 'ready' in globalThis);
    await page.evaluate((url) => {
      (globalThis as unknown as { startCall(u: string): void }).startCall(url);
    }, rpcUrl);
    await waitUntil(() => seen.some((entry) => entry.label === 'signal'), 10_000);
    const entry = seen.find((each) => each.label === 'signal') as Seen;
    expect(entry.aborted).toBeUndefined();
    expect(entry.deadline).toBeUndefined();
    const abortedAt = Date.now();
    const outcome = await page.evaluate(() =>
      (globalThis as unknown as { abortCall(): Promise<Outcome> }).abortCall(),
    );
    expect(outcome).toEqual({ ok: false, name: 'Error', message: 'aborted in the page' });
    await waitUntil(() => entry.aborted !== undefined, bound + 1000);
    // The browser closed the request's connection: node:http tells the handler so.
    expect(TransportError.is(entry.aborted?.reason)).toBe(true);
    expect(entry.aborted?.at).toBeLessThan(abortedAt + bound);
    await page.close();
  });

  it("a call that times out in the page sends its deadline, and the Node handler's signal aborts", async () => {
    const page = await browser.newPage();
    await page.goto(`${pageOrigin}/`);
    await page.waitForFunction(() => 'ready' in globalThis);
    const startedAt = Date.now();
    const outcome = await page.evaluate(
      ([url, timeout]) =>
        (globalThis as unknown as { timedCall(u: string, t: number): Promise<Outcome> }).timedCall(
          url,
          timeout,
        ),
      [rpcUrl, 500] as const,
    );
    expect(outcome).toMatchObject({ ok: false, name: 'RpcTimeoutError' });
    const entry = seen.find((each) => each.label === 'timeout') as Seen;
    expect(entry.header).toMatch(/^\d+$/);
    expect(Number(entry.header)).toBeLessThanOrEqual(500);
    expect(entry.deadline).toBeGreaterThan(startedAt);
    expect(entry.deadline).toBeLessThan(startedAt + 500 + bound);
    await waitUntil(() => entry.aborted !== undefined && entry.gone !== undefined, bound + 1000);
    expect(entry.aborted?.at).toBeLessThan(startedAt + 500 + bound);
    expect(entry.gone).toBeLessThan(startedAt + 500 + bound);
    // The preflight asked for the deadline header, and the server allowed it.
    expect(preflights.some((asked) => asked?.includes('tinyrpc-deadline'))).toBe(true);
    await page.close();
  });
});
