import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ts from 'typescript';
import { RpcDispatcher } from '@tinyrpc/core';
import { stubRequest, type StubResponse } from './stubs.ts';

type Fixture = typeof import('./fixtures/decorated-service.ts');

// See the fixture's comment: compile the standard decorators with tsc, then import the result
// through vitest so that it shares this test's copy of @tinyrpc/core.
const source = new URL('./fixtures/decorated-service.ts', import.meta.url);
const compiled = new URL(
  `./fixtures/decorated-service.${String(process.pid)}.generated.js`,
  import.meta.url,
);
let fixture: Fixture;

beforeAll(async () => {
  const output = ts.transpileModule(await readFile(source, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  await writeFile(compiled, output.outputText);
  fixture = (await import(/* @vite-ignore */ compiled.href)) as Fixture;
});

afterAll(async () => {
  await rm(compiled, { force: true });
});

const call = async (
  d: RpcDispatcher,
  method: string,
  params?: unknown[] | Record<string, unknown>,
) => {
  const response = (await d.dispatch(stubRequest(method, params), {
    transport: { transport: 'test' },
  })) as StubResponse;
  return response.error ?? response.result;
};

describe('@rpcPublic and registerInstance', () => {
  it('registers the marked methods, under their own names or the chosen ones, with a prefix', () => {
    const d = new RpcDispatcher().registerInstance(new fixture.Calculator(), 'calc.');
    expect(d.names().sort()).toEqual([
      'calc.double',
      'calc.subtract',
      'calc.sum',
      'calc.triple',
      'calc.whoami',
    ]);
  });

  it('binds methods to the instance and applies their options', async () => {
    const calculator = new fixture.Calculator();
    calculator.factor = 5;
    const d = new RpcDispatcher().registerInstance(calculator);
    expect(await call(d, 'double', [2])).toBe(10);
    expect(await call(d, 'sum', [2, 3])).toBe(5);
    expect(await call(d, 'subtract', { subtrahend: 23, minuend: 42 })).toBe(19);
    expect(await call(d, 'whoami')).toBe('test whoami');
    expect(await call(d, 'triple', [3])).toBe(9);
    expect(await call(d, 'internal')).toMatchObject({ code: -32601 });
    expect(await call(d, 'add', [1, 2])).toMatchObject({ code: -32601 });
    expect(await call(d, 'factor')).toMatchObject({ code: -32601 });
    expect(await call(d, 'constructor')).toMatchObject({ code: -32601 });
  });

  it('finds inherited marked methods, and drops those overridden without the mark', async () => {
    const d = new RpcDispatcher().registerInstance(new fixture.ScientificCalculator(), 'sci.');
    expect(d.names().sort()).toEqual([
      'sci.double',
      'sci.power',
      'sci.subtract',
      'sci.sum',
      'sci.whoami',
    ]);
    expect(await call(d, 'sci.power', [2, 10])).toBe(1024);
    expect(await call(d, 'sci.double', [4])).toBe(8);
  });

  it('throws when two instances register the same names without a prefix', () => {
    const d = new RpcDispatcher().registerInstance(new fixture.Calculator());
    expect(() => d.registerInstance(new fixture.Calculator())).toThrow(/already registered/);
    expect(() => d.registerInstance(new fixture.Calculator(), 'second.')).not.toThrow();
  });

  it('refuses static and private methods', () => {
    expect(() => fixture.defineStaticMethod()).toThrow(TypeError);
    expect(() => fixture.definePrivateMethod()).toThrow(TypeError);
  });
});
