import { describe, expectTypeOf, it } from 'vitest';
import type { RpcClient, RpcOneWayProxy, RpcProxy } from '@tinyrpc/core';

interface Api {
  add(a: number, b: number): number;
  fetchUser(id: string): Promise<{ name: string }>;
  log(line: string): void;
  version: string;
  readonly count: number;
}

declare const client: RpcClient;

describe('RpcProxy', () => {
  it('returns a promise of the awaited result', () => {
    const remote = client.getProxy<Api>();
    expectTypeOf(remote.add).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(remote.fetchUser).returns.toEqualTypeOf<Promise<{ name: string }>>();
    expectTypeOf(remote.log).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(remote.add).parameters.toEqualTypeOf<[a: number, b: number]>();
    expectTypeOf(remote).toEqualTypeOf<RpcProxy<Api>>();
  });

  it('rejects wrong arguments at compile time', () => {
    const remote = client.getProxy<Api>();
    // @ts-expect-error a string is not a number
    void remote.add('1', 2);
    // @ts-expect-error too few arguments
    void remote.add(1);
    // @ts-expect-error no such method
    void remote.subtract(1, 2);
  });

  it('leaves out members that are not functions', () => {
    const remote = client.getProxy<Api>();
    expectTypeOf<keyof typeof remote>().toEqualTypeOf<'add' | 'fetchUser' | 'log'>();
    expectTypeOf(remote).not.toHaveProperty('version');
    expectTypeOf(remote).not.toHaveProperty('count');
  });

  it('resolves void for a oneWay proxy', () => {
    const remote = client.getProxy<Api>({ oneWay: true, prefix: 'api.' });
    expectTypeOf(remote).toEqualTypeOf<RpcOneWayProxy<Api>>();
    expectTypeOf(remote.add).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(remote.add).parameters.toEqualTypeOf<[a: number, b: number]>();
    // @ts-expect-error a string is not a number
    void remote.add('1', 2);
  });
});
