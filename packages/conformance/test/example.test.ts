import { readFileSync } from 'node:fs';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import { PortClientTransport, PortServerTransport } from './example/port-transport.ts';

// The README's example plugin, run through the kit exactly as its README shows.
runTransportConformance(
  { describe, it },
  {
    name: 'MessagePort (README example)',
    createFixture() {
      const server = new PortServerTransport();
      const serverPorts: MessagePort[] = [];
      return {
        server,
        connect() {
          const { port1, port2 } = new MessageChannel();
          serverPorts.push(port2);
          server.accept(port2);
          return new PortClientTransport(port1);
        },
        disconnect() {
          for (const port of serverPorts) port.close();
        },
      };
    },
    capabilities: { disconnect: true, duplex: true },
  },
);

describe('the README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = (marker: string): string | undefined =>
    new RegExp(`<!-- ${marker} -->\\s*\`\`\`ts[^\\n]*\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];

  it('shows the example transport exactly as tested', () => {
    const source = readFileSync(new URL('example/port-transport.ts', import.meta.url), 'utf8');
    expect(block('example: port-transport.ts')).toBe(source);
  });

  it('shows the example conformance test exactly as tested', () => {
    const source = readFileSync(new URL('example.test.ts', import.meta.url), 'utf8');
    const start = source.indexOf('runTransportConformance(');
    const end = source.indexOf("describe('the README'");
    expect(block('example: conformance.test.ts')).toContain(source.slice(start, end).trim());
  });
});

describe('the package documentation', () => {
  it('shows the README example', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const index = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
    const fromReadme = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const fromIndex = /@example\n \* ```ts\n([\s\S]*?) \* ```/
      .exec(index)?.[1]
      ?.split('\n')
      .map((line) => line.replace(/^ \* ?/, ''))
      .join('\n');
    expect(fromIndex).toBe(fromReadme);
  });
});
