// `tinyrpc bench`: the built bin against our HTTP and WebSocket servers, bounded to a second or so.
import { describe, expect, it } from 'vitest';
import { freePort } from '@tinyrpc/test-helpers';
import { serveShop, tinyrpc } from './support.ts';

interface BenchJson {
  concurrency: number;
  seconds: number;
  calls: number;
  errors: number;
  callsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  histogram: { fromMs: number; toMs: number; count: number }[];
}

describe('tinyrpc bench', () => {
  it('reports throughput, ordered percentiles and a histogram that counts every call', async () => {
    const { url } = await serveShop('ws');
    const run = await tinyrpc([
      'bench',
      url,
      'reverse_string',
      'hello',
      '--concurrency',
      '4',
      '--duration',
      '1',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as BenchJson;
    expect(result.concurrency).toBe(4);
    expect(result.errors).toBe(0);
    expect(result.calls).toBeGreaterThan(10);
    expect(result.seconds).toBeGreaterThanOrEqual(1);
    expect(result.seconds).toBeLessThan(5);
    expect(result.callsPerSecond).toBeCloseTo(result.calls / result.seconds, -1);
    const { p50, p90, p99, max } = result.latencyMs;
    expect(p50).toBeGreaterThan(0);
    expect(p50).toBeLessThanOrEqual(p90);
    expect(p90).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(max);
    expect(result.histogram).toHaveLength(8);
    expect(result.histogram.reduce((sum, row) => sum + row.count, 0)).toBe(result.calls);
  });

  it('prints a report for people, without colour or a progress line when not on a terminal', async () => {
    const { url } = await serveShop('http');
    const run = await tinyrpc([
      'bench',
      url,
      'echo',
      '1',
      '--duration',
      '0.5',
      '--concurrency',
      '2',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(
      /^echo at http:\/\/127\.0\.0\.1:\d+\/\n {2}2 in flight for 0\.\d s\n/,
    );
    expect(run.stdout).toMatch(/ {2}throughput {2}[\d,]+ calls\/s\n/);
    expect(run.stdout).toMatch(
      / {2}latency {5}p50 [\d.]+ ms {2}p90 [\d.]+ ms {2}p99 [\d.]+ ms {2}max [\d.]+ ms\n/,
    );
    expect(run.stdout).toContain('latency histogram');
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('stops at the first Ctrl-C (SIGINT) and reports what it measured', async () => {
    const { url } = await serveShop('http');
    const started = Date.now();
    const run = await tinyrpc(['bench', url, 'echo', '1', '--duration', '60', '--json'], {
      started: (child) => {
        setTimeout(() => child.kill('SIGINT'), 3000);
      },
      timeoutMs: 30_000,
    });
    expect(run.code).toBe(0);
    // However far it got (a busy machine may still be on its first call), it reports.
    const result = JSON.parse(run.stdout) as BenchJson;
    expect(result.errors).toBe(0);
    expect(result.seconds).toBeLessThan(20);
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it('exits 1 when calls answer with error responses, and says which', async () => {
    const { url } = await serveShop('http');
    const run = await tinyrpc(['bench', url, 'fail', '--duration', '0.5']);
    // The first call, made alone, already fails.
    expect(run).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('error 4001: Out of stock') as string,
    });
  });

  it('exits 2 when the endpoint cannot be reached, and on wrong arguments', async () => {
    const url = `http://127.0.0.1:${String(await freePort())}/`;
    expect((await tinyrpc(['bench', url, 'echo', '--duration', '0.5'])).code).toBe(2);
    for (const args of [
      ['--concurrency', '0'],
      ['--concurrency', '1.5'],
      ['--concurrency', '20000'],
      ['--duration', 'forever'],
    ]) {
      const run = await tinyrpc(['bench', url, 'echo', ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('(see tinyrpc bench --help)');
    }
  });
});
