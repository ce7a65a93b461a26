// Type tests: vitest typecheck runs them, and so does `pnpm --filter @tinyrpc/jsonrpc typecheck`.
import { describe, expectTypeOf, it } from 'vitest';
import { RpcClient, createMemoryTransport, type RpcProxy } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';

interface Calculator {
  add(a: number, b: number): number;
  divide(a: number, b: number): Promise<number>;
  reverse(s: string): string;
  optional(a: number, b?: string): { a: number; b: string | undefined };
  rest(...values: boolean[]): number;
  reset(): void;
  nested: { add(a: number): number };
  label: string;
  readonly precision: number;
  [Symbol.iterator]: () => Iterator<number>;
}

const client = new RpcClient(new JsonRpcProtocol(), createMemoryTransport().client);

describe('getProxy<Api>()', () => {
  it('types each method as returning Promise<Awaited<R>>', () => {
    const remote = client.getProxy<Calculator>();
    expectTypeOf(remote.add).toEqualTypeOf<(a: number, b: number) => Promise<number>>();
    expectTypeOf(remote.divide).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(remote.reverse('abc')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(remote.optional).returns.toEqualTypeOf<
      Promise<{ a: number; b: string | undefined }>
    >();
    expectTypeOf(remote.reset()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(remote.rest(true, false)).toEqualTypeOf<Promise<number>>();
  });

  it('makes a wrong argument a compile error', () => {
    const remote = client.getProxy<Calculator>();
    // @ts-expect-error a string is not a number
    void remote.add('1', 2);
    // @ts-expect-error too many arguments
    void remote.add(1, 2, 3);
    // @ts-expect-error too few arguments
    void remote.reverse();
    // @ts-expect-error the second argument is a string
    void remote.optional(1, 2);
    // @ts-expect-error rest arguments are booleans
    void remote.rest(true, 1);
    void remote.optional(1);
    void remote.rest();
  });

  it('leaves out members that are not methods', () => {
    const remote = client.getProxy<Calculator>();
    expectTypeOf<keyof typeof remote>().toEqualTypeOf<
      'add' | 'divide' | 'reverse' | 'optional' | 'rest' | 'reset'
    >();
    expectTypeOf(remote).not.toHaveProperty('label');
    expectTypeOf(remote).not.toHaveProperty('precision');
    expectTypeOf(remote).not.toHaveProperty('nested');
    // @ts-expect-error not on the API at all
    void remote.multiply(1, 2);
  });

  it('types a oneWay proxy’s methods as Promise<void>, with the same arguments', () => {
    const remote = client.getProxy<Calculator>({ oneWay: true });
    expectTypeOf(remote.add).toEqualTypeOf<(a: number, b: number) => Promise<void>>();
    expectTypeOf(remote.divide(1, 2)).toEqualTypeOf<Promise<void>>();
    // @ts-expect-error a string is not a number
    void remote.add('1', 2);
    expectTypeOf(remote).not.toHaveProperty('label');
  });

  it('keeps the request/reply proxy type with a prefix or oneWay: false', () => {
    expectTypeOf(client.getProxy<Calculator>({ prefix: 'calc.' })).toEqualTypeOf<
      RpcProxy<Calculator>
    >();
    expectTypeOf(client.getProxy<Calculator>({ oneWay: false })).toEqualTypeOf<
      RpcProxy<Calculator>
    >();
  });

  it('call<T>() resolves T', () => {
    expectTypeOf(client.call<number>('add', [1, 2])).toEqualTypeOf<Promise<number>>();
    expectTypeOf(client.call('add', [1, 2])).toEqualTypeOf<Promise<unknown>>();
    // @ts-expect-error params are an array or an object
    void client.call('add', 1);
  });
});
