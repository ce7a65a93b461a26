import { performance } from 'node:perf_hooks';
import { RemoteError, type Params, type RpcClient } from '@tinyrpc/core';
import {
  connectionHelp,
  connectOptionsFrom,
  parseCommandLine,
  endpointHelp,
  paramsFrom,
  positiveNumber,
} from '../arguments.ts';
import { stylesFor, type CliIo } from '../cli-io.ts';
import { closeClient, connect } from '../connect.ts';
import { LatencyHistogram } from '../latency-histogram.ts';
import { errorText, exitCodes, toJson } from '../report-error.ts';
import { UsageError } from '../usage-error.ts';
import type { Command } from './command.ts';

/** What a bench run measured. */
interface BenchResult {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly histogram: LatencyHistogram;
  readonly lastError: unknown;
}

/** `tinyrpc bench <url> <method> [args…]`: calls as fast as the endpoint answers, for a while. */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'load-test a method: throughput, latency percentiles and a histogram',
  help: `Usage: tinyrpc bench <url> <method> [args…] [options]

Keeps --concurrency calls in flight for --duration seconds, then prints the throughput, latency
percentiles (p50, p90, p99, max) and a latency histogram. Arguments as for tinyrpc call. A live
progress line is shown on a terminal. Ctrl-C ends the run early, with its report; a second
Ctrl-C quits at once.

Options:
  --concurrency N   calls in flight at once (default 8)
  --duration S      seconds to run (default 5)
  --params JSON     the whole params instead of arguments
  --json            print the figures as JSON
${connectionHelp}

${endpointHelp}

Exit status: 0 every call answered with a result, 1 some answered with an error response, 2 the
endpoint cannot be reached (the first call is made alone, to check) or the arguments are wrong.

Example:
  tinyrpc bench http://127.0.0.1:5000/ reverse_string hello --concurrency 16 --duration 5`,

  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      params: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      duration: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    });
    const [url, method, ...rest] = positionals;
    if (url === undefined || method === undefined) throw new UsageError('give a URL and a method');
    const params = paramsFrom(rest, values.params);
    const concurrency = positiveNumber('--concurrency', values.concurrency, true);
    const seconds = positiveNumber('--duration', values.duration);
    if (concurrency > 10_000) throw new UsageError('--concurrency must be at most 10000');
    if (seconds > 86_400) throw new UsageError('--duration must be at most 86400 seconds');
    const options = connectOptionsFrom(values);
    // The first Ctrl-C ends the run early; with the listener gone, a second one ends the process.
    let interrupted = false;
    const release = io.onInterrupt?.(() => {
      interrupted = true;
      release?.();
    });
    const client = await connect(url, options);
    try {
      // One call alone first: an endpoint that is not there fails here with exit 2, not as a
      // run of errors.
      await client.call(method, params, { timeout: options.timeout });
      const result = await run(client, method, params, {
        concurrency,
        seconds,
        timeout: options.timeout,
        io,
        interrupted: () => interrupted,
      });
      if (values.json) io.stdout.write(`${toJson(summary(result, concurrency))}\n`);
      else io.stdout.write(report(result, { url, method, concurrency, io }));
      if (result.errors === 0) return exitCodes.ok;
      if (!RemoteError.is(result.lastError)) throw result.lastError;
      return exitCodes.errorResponse;
    } finally {
      release?.();
      await closeClient(client);
    }
  },
};

async function run(
  client: RpcClient,
  method: string,
  params: Params | undefined,
  options: {
    concurrency: number;
    seconds: number;
    timeout: number;
    io: CliIo;
    interrupted: () => boolean;
  },
): Promise<BenchResult> {
  const histogram = new LatencyHistogram();
  const started = performance.now();
  const end = started + options.seconds * 1000;
  let errors = 0;
  let lastError: unknown;
  const worker = async (): Promise<void> => {
    while (performance.now() < end && !options.interrupted()) {
      const sent = performance.now();
      try {
        await client.call(method, params, { timeout: options.timeout });
        histogram.record(performance.now() - sent);
      } catch (error) {
        errors += 1;
        lastError = error;
        // An endpoint gone away fails fast; there is no point hammering it for the rest of the run.
        if (!RemoteError.is(error)) return;
      }
    }
  };
  const stream = options.io.stderr;
  const progress = stream.isTTY === true;
  const timer = progress
    ? setInterval(() => {
        const elapsed = (performance.now() - started) / 1000;
        stream.write(
          `\r\u001b[K${elapsed.toFixed(1)} s  ${String(histogram.count)} calls  ` +
            `${Math.round(histogram.count / elapsed).toLocaleString('en-US')}/s  ${String(errors)} errors`,
        );
      }, 250)
    : undefined;
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    if (timer !== undefined) {
      clearInterval(timer);
      stream.write('\r\u001b[K');
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { calls: histogram.count + errors, errors, seconds, histogram, lastError };
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

function summary(result: BenchResult, concurrency: number): Record<string, unknown> {
  const { histogram } = result;
  return {
    concurrency,
    seconds: round(result.seconds),
    calls: result.calls,
    errors: result.errors,
    callsPerSecond: round(result.calls / result.seconds, 1),
    latencyMs: {
      p50: round(histogram.percentile(0.5)),
      p90: round(histogram.percentile(0.9)),
      p99: round(histogram.percentile(0.99)),
      max: round(histogram.max),
      mean: round(histogram.mean),
    },
    histogram: histogram.rows().map((row) => ({
      fromMs: round(row.fromMs),
      toMs: round(row.toMs),
      count: row.count,
    })),
  };
}

function ms(value: number): string {
  return value < 10
    ? `${value.toFixed(2)} ms`
    : value < 100
      ? `${value.toFixed(1)} ms`
      : `${value.toFixed(0)} ms`;
}

function report(
  result: BenchResult,
  context: { url: string; method: string; concurrency: number; io: CliIo },
): string {
  const { bold, dim, red } = stylesFor(context.io.stdout, context.io.env);
  const { histogram } = result;
  const number = (value: number): string => Math.round(value).toLocaleString('en-US');
  const errors = result.errors === 0 ? '0 errors' : red(`${number(result.errors)} errors`);
  const lines = [
    bold(`${context.method} at ${context.url}`),
    `  ${String(context.concurrency)} in flight for ${result.seconds.toFixed(1)} s`,
    `  calls       ${number(result.calls)} (${errors})`,
    `  throughput  ${bold(`${number(result.calls / result.seconds)} calls/s`)}`,
    `  latency     p50 ${ms(histogram.percentile(0.5))}  p90 ${ms(histogram.percentile(0.9))}  ` +
      `p99 ${ms(histogram.percentile(0.99))}  max ${ms(histogram.max)}`,
  ];
  const rows = histogram.rows();
  if (rows.length > 0) {
    const most = Math.max(...rows.map((row) => row.count));
    const labels = rows.map((row) => `${ms(row.fromMs)} – ${ms(row.toMs)}`);
    const width = Math.max(...labels.map((label) => label.length));
    lines.push('', '  latency histogram');
    rows.forEach((row, index) => {
      const bar = '█'.repeat(Math.round((row.count / most) * 30));
      const share = `${((row.count / histogram.count) * 100).toFixed(1)}%`;
      lines.push(
        `    ${(labels[index] as string).padStart(width)}  ${bar.padEnd(30)} ${dim(share.padStart(6))}`,
      );
    });
  }
  if (result.errors > 0 && result.lastError !== undefined) {
    lines.push('', red(`  last error: ${errorText(result.lastError)}`));
  }
  return `${lines.join('\n')}\n`;
}
