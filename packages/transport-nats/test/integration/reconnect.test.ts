// What happens to calls when the NATS server itself goes away and comes back: a nats-server of the
// test's own, killed with SIGKILL and started again on the same port.
import { afterEach, describe, expect, it } from 'vitest';
import {
  RpcClient,
  RpcDispatcher,
  RpcServer,
  RpcTimeoutError,
  TransportError,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { freePort, gate, settle, sleep, waitUntil, type ReadyProcess } from '@tinyrpc/test-helpers';
import { NatsClientTransport, NatsServerTransport } from '@tinyrpc/transport-nats';
import { uniqueSubject } from './nats.ts';
import { natsServerBinary, natsServerInstalled, startNatsServer } from './nats-server-process.ts';

const installed = gate(`nats-server at ${natsServerBinary}`, natsServerInstalled());

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

describe.skipIf(!installed)('NATS server restarts', () => {
  it('fails calls in flight at once, holds calls made meanwhile until the server is back, then answers them', async () => {
    const port = await freePort();
    let nats: ReadyProcess = await startNatsServer(port);
    cleanup.push(() => nats.kill());
    const servers = `127.0.0.1:${String(port)}`;
    const reconnect = { initialDelay: 50, maxDelay: 200 };
    const subject = uniqueSubject('restart');
    let release!: () => void;
    const gateOpen = new Promise<void>((resolve) => (release = resolve));
    let entered = 0;
    const dispatcher = new RpcDispatcher()
      .add('block', async () => {
        entered++;
        await gateOpen;
        return 'late';
      })
      .add('echo', (value: unknown) => value);
    const reports: unknown[] = [];
    const server = new RpcServer(
      new NatsServerTransport({ servers, subject, reconnect, onError: (e) => reports.push(e) }),
      new JsonRpcProtocol(),
      dispatcher,
    );
    await server.serve();
    cleanup.push(() => server.close());
    const transport = new NatsClientTransport({ servers, subject, reconnect });
    const client = new RpcClient(new JsonRpcProtocol(), transport, { timeout: 10_000 });
    cleanup.push(() => client.close());
    expect(await client.call('echo', ['before'])).toBe('before');

    // 20 calls running on the server when NATS dies.
    const inFlight = Array.from({ length: 20 }, () => settle(client.call('block')));
    await waitUntil(() => entered === 20, 5000);
    const killedAt = Date.now();
    await nats.kill();
    const lost = await Promise.all(inFlight);
    const lostAfter = Date.now() - killedAt;
    expect(lost.every((r) => !r.ok && TransportError.is(r.error))).toBe(true);
    expect((lost[0] as { error: Error }).error.message).toMatch(
      /^Lost the connection to NATS \(127\.0\.0\.1:\d+\); the NATS client reconnects$/,
    );
    expect(lostAfter).toBeLessThan(1000);
    expect(transport.pendingCount).toBe(0);

    // Calls made while NATS is down wait for the reconnect, bounded by their own timeout.
    const held = Array.from({ length: 10 }, (_, i) => settle(client.call('echo', [i])));
    const short = settle(client.call('echo', ['short'], { timeout: 300 }));
    const shortResult = await short;
    expect(!shortResult.ok && RpcTimeoutError.is(shortResult.error)).toBe(true);
    await sleep(300);
    release();
    nats = await startNatsServer(port);
    // Each is answered, or, when the client is back before the server has subscribed again,
    // fails at once with "no responders"; none waits for its timeout.
    const releasedAt = Date.now();
    const heldResults = await Promise.all(held);
    expect(Date.now() - releasedAt).toBeLessThan(5000);
    for (const [i, result] of heldResults.entries()) {
      if (result.ok) expect(result.value).toBe(i);
      else expect((result.error as Error).message).toMatch(/^No responders: /);
    }
    // The server transport subscribed again by itself.
    let answered = false;
    for (let attempt = 0; attempt < 50 && !answered; attempt++) {
      answered = (await settle(client.call('echo', ['after']))).ok;
      if (!answered) await sleep(100);
    }
    expect(answered).toBe(true);
    expect(transport.pendingCount).toBe(0);
    expect(
      reports.some((e) => TransportError.is(e) && /^Lost the NATS connection/.test(e.message)),
    ).toBe(true);
  });

  it('with reconnect: false, the next call after a restart opens a new connection', async () => {
    const port = await freePort();
    let nats: ReadyProcess = await startNatsServer(port);
    cleanup.push(() => nats.kill());
    const servers = `127.0.0.1:${String(port)}`;
    const subject = uniqueSubject('no-reconnect');
    const transport = new NatsClientTransport({ servers, subject, reconnect: false });
    const client = new RpcClient(new JsonRpcProtocol(), transport, { timeout: 5000 });
    cleanup.push(() => client.close());
    const serve = async (): Promise<RpcServer> => {
      const server = new RpcServer(
        new NatsServerTransport({ servers, subject, reconnect: false }),
        new JsonRpcProtocol(),
        new RpcDispatcher().add('echo', (value: unknown) => value),
      );
      await server.serve();
      cleanup.push(() => server.close());
      return server;
    };
    await serve();
    expect(await client.call('echo', [1])).toBe(1);
    const first = transport.connection;
    await nats.kill();
    await waitUntil(() => first?.isClosed() === true, 5000);
    const down = await settle(client.call('echo', [2]));
    expect(!down.ok && TransportError.is(down.error)).toBe(true);
    expect((down as { error: Error }).error.message).toMatch(/^Cannot connect to NATS at /);
    nats = await startNatsServer(port);
    await serve();
    expect(await client.call('echo', [3])).toBe(3);
    expect(transport.connection).not.toBe(first);
  });
});
