// What only a terminal gets: colour and bench's progress line. `main` runs in this process with
// output streams that say they are terminals; the server is real.
import { describe, expect, it } from 'vitest';
import { RpcDispatcher, RpcError, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpServerTransport } from '@tinyrpc/transport-http';
import { main, type CliIo } from '../src/index.ts';
import { defer, serveShop } from './support.ts';

function terminal(
  env: Record<string, string> = {},
): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { isTTY: true, write: (text: string) => (out += text) },
    stderr: { isTTY: true, write: (text: string) => (err += text) },
    env: { TERM: 'xterm-256color', ...env },
    out: () => out,
    err: () => err,
  };
}

const ansi = '\u001b[';

describe('on a terminal', () => {
  it('discover prints its header in bold; NO_COLOR and TERM=dumb turn colour off', async () => {
    const { url } = await serveShop('http');
    const coloured = terminal();
    expect(await main(['discover', url], coloured)).toBe(0);
    expect(coloured.out()).toContain(`${ansi}1mMETHOD`);
    expect(coloured.out()).toContain(`${ansi}33m(deprecated)`);
    for (const env of [{ NO_COLOR: '1' }, { TERM: 'dumb' }] as Record<string, string>[]) {
      const plain = terminal(env);
      expect(await main(['discover', url], plain)).toBe(0);
      expect(plain.out()).not.toContain(ansi);
    }
  });

  it('error responses are red', async () => {
    const { url } = await serveShop('http');
    const io = terminal();
    expect(await main(['call', url, 'fail'], io)).toBe(1);
    expect(io.err().startsWith(`${ansi}31merror${ansi}39m 4001: Out of stock\n`)).toBe(true);
  });

  it('bench shows a progress line on stderr, cleared at the end, and counts error responses (exit 1)', async () => {
    let calls = 0;
    // Every third call fails, the first one (bench's check) succeeds.
    const dispatcher = new RpcDispatcher().add('flaky', () => {
      calls += 1;
      if (calls % 3 === 0) throw new RpcError('flaked', { code: 7 });
      return calls;
    });
    const transport = new HttpServerTransport({ host: '127.0.0.1', port: 0 });
    const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
    await server.serve();
    defer(() => server.close());
    const io = terminal();
    const url = `http://127.0.0.1:${String(transport.port)}/`;
    const status = await main(
      ['bench', url, 'flaky', '--duration', '0.8', '--concurrency', '2'],
      io,
    );
    expect(status).toBe(1);
    const progress = io.err().split(`\r${ansi}K`).filter(Boolean);
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress)
      expect(line).toMatch(/^0\.\d s {2}\d+ calls {2}[\d,]+\/s {2}\d+ errors$/);
    expect(io.err().endsWith('\r\u001b[K')).toBe(true);
    const errors = Number(/([\d,]+) errors/.exec(io.out())?.[1]?.replaceAll(',', ''));
    expect(errors).toBeGreaterThan(0);
    // Within one of a third: the calls in flight at the end may not have been counted.
    expect(Math.abs(errors - Math.floor(calls / 3))).toBeLessThanOrEqual(2);
    expect(io.out()).toContain('last error: 7: flaked');
  });
});

describe('help', () => {
  it.each(['call', 'discover', 'bench', 'generate'])(
    'tinyrpc %s --help prints usage, exit 0',
    async (command) => {
      const io = terminal();
      expect(await main([command, '--help'], io)).toBe(0);
      expect(io.out()).toMatch(new RegExp(`^Usage: tinyrpc ${command} `));
      expect(io.err()).toBe('');
    },
  );

  it('tinyrpc --help lists the commands; no command or an unknown one exits 2', async () => {
    const io = terminal();
    expect(await main(['--help'], io)).toBe(0);
    for (const name of ['call', 'discover', 'bench', 'generate'])
      expect(io.out()).toContain(`  ${name} `);
    const none = terminal();
    expect(await main([], none)).toBe(2);
    expect(none.err()).toContain('Usage: tinyrpc <command>');
    const unknown = terminal();
    expect(await main(['frobnicate'], unknown)).toBe(2);
    expect(unknown.err()).toContain("unknown command 'frobnicate'");
  });

  it('tinyrpc --version prints the package version', async () => {
    const io = terminal();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.out()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
