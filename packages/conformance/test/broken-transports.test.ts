import { describe, expect, it } from 'vitest';
import { runTransportConformance, type TransportCapabilities } from '@tinyrpc/conformance';
import { createPipeFixture, type Faults } from './support/pipe-transport.ts';
import { recordingRunner, type CaseResult } from './support/recording-runner.ts';

// The kit is only worth something if it fails transports that break the contract. Each fault below
// breaks one rule; the kit, run with a recording runner, must fail the cases that check that rule
// and pass the rest.

// Broken transports fail fast with a short timeout; slowness only adds failures there. A correct
// transport gets more time, so a loaded machine does not fail it.
const limits = { maxMessageSize: 1_100_000, maxInFlight: 4 };

async function runKit(
  faults: Faults,
  capabilities: TransportCapabilities = {},
  timeout = 400,
): Promise<CaseResult[]> {
  const { runner, run } = recordingRunner();
  runTransportConformance(runner, {
    name: 'pipe',
    createFixture: () => createPipeFixture(faults, limits),
    capabilities: { disconnect: true, duplex: true, limits: true, ...limits, ...capabilities },
    timeout,
  });
  return run();
}

const failed = (results: CaseResult[]): string[] =>
  results.filter((r) => r.status === 'failed').map((r) => r.name.replace(/^.* > /, ''));

describe('the transport kit', () => {
  it('passes a correct transport', async () => {
    const results = await runKit({}, {}, 3000);
    expect(
      results.filter((r) => r.status === 'failed').map((r) => [r.name, String(r.error)]),
    ).toEqual([]);
    expect(results.filter((r) => r.status === 'passed').length).toBeGreaterThan(20);
    const passed = results.filter((r) => r.status === 'passed').map((r) => r.name);
    expect(passed.some((name) => name.includes('bounded by maxInFlight'))).toBe(true);
    expect(passed.some((name) => name.includes('over maxMessageSize'))).toBe(true);
    expect(passed.filter((name) => name.includes('context.peer'))).toHaveLength(2);
    expect(passed.some((name) => name.includes('to a client over maxMessageSize'))).toBe(true);
  });

  const cases: [string, Faults, RegExp[]][] = [
    ['drops every tenth reply', { dropEvery: 10 }, [/concurrent calls/, /several clients/]],
    [
      'turns bytes into text',
      { textOnly: true },
      [/round trip: binary, 1 byte/, /round trip: binary, 1 MB/],
    ],
    [
      'cuts long replies',
      { truncateAt: 65_536 },
      [/round trip: binary, 64 KiB \+ 1/, /round trip: binary, 1 MB/],
    ],
    ['answers notifications', { replyToNotifications: true }, [/notifications get no reply/]],
    [
      'drops in-flight replies on close()',
      { noDrain: true },
      [/close\(\) finishes in-flight calls/],
    ],
    [
      'handles one message at a time',
      { serial: true },
      [/concurrent calls each get their own reply, handled at once/],
    ],
    [
      'never reports a lost connection',
      { ignoreDisconnect: true },
      [/a lost connection fails every pending call/],
    ],
    [
      'swallows calls after the server closed',
      { ignoreServerGone: true },
      [/a call after the server closed fails with a TransportError/],
    ],
    ['has no brands', { noBrand: true }, [/brands/]],
    ['mixes up replies', { swapReplies: true }, [/concurrent calls/]],
    ['ignores maxInFlight', { ignoreInFlightLimit: true }, [/bounded by maxInFlight/]],
    [
      'stops serving after an over-size message',
      { stopAfterOverSize: true },
      [/over maxMessageSize/],
    ],
    ['declares no contract version', { noVersion: true }, [/contract version 1/]],
    [
      'passes no context.connection',
      { noConnection: true },
      [/announces each connection/, /context\.peer .*\(text\)/, /context\.peer .*\(binary\)/],
    ],
    [
      'announces a connection after its first message',
      { announceLate: true },
      [/announces each connection once, before its first message/],
    ],
    [
      'gives every client the same connection',
      { sharedConnection: true },
      [/announces each connection/, /each of two clients gets only its own calls/],
    ],
    [
      'accepts connection.send after the connection is gone',
      { sendAfterGone: true },
      [/connection\.send after the connection is lost/],
    ],
    [
      "never aborts a lost connection's signal",
      { keepSignals: true },
      [/in both directions/, /drop one that disconnects/, /connection\.send after/],
    ],
    [
      'sends over-size messages to its clients',
      { noSendLimit: true },
      [/to a client over maxMessageSize/],
    ],
  ];
  for (const [what, faults, expected] of cases) {
    it.concurrent(`fails a transport that ${what}`, async () => {
      const names = failed(await runKit(faults));
      for (const pattern of expected)
        expect(
          names.some((name) => pattern.test(name)),
          `${String(pattern)} in ${JSON.stringify(names)}`,
        ).toBe(true);
    });
  }

  it('reports a failing case with a clear message', async () => {
    const results = await runKit({ noBrand: true });
    const brand = results.find((r) => r.name.endsWith('transports carry their brands'));
    expect(String(brand?.error)).toMatch(/setBrand\(this, serverTransportBrand\)/);
  });

  it('skips the cases the capabilities turn off', async () => {
    const results = await runKit({}, { binary: false, notifications: false, disconnect: false });
    const skipped = results.filter((r) => r.status === 'skipped').map((r) => r.name);
    expect(
      skipped.some((name) => name.includes('context.peer while the call is in flight (binary)')),
    ).toBe(true);
    expect(skipped.some((name) => name.includes('in both directions'))).toBe(true);
    const simplex = await runKit({}, { duplex: false });
    expect(
      simplex.filter((r) => r.status === 'skipped' && r.name.includes('context.peer')),
    ).toHaveLength(2);
    expect(skipped.some((name) => name.includes('round trip: binary'))).toBe(true);
    expect(skipped.some((name) => name.includes('notifications'))).toBe(true);
    expect(skipped.some((name) => name.includes('lost connection'))).toBe(true);
  });

  it('refuses a transport that carries neither text nor binary', () => {
    expect(() => {
      runTransportConformance(recordingRunner().runner, {
        name: 'nothing',
        createFixture: () => createPipeFixture(),
        capabilities: { text: false, binary: false },
      });
    }).toThrow(TypeError);
  });
});
