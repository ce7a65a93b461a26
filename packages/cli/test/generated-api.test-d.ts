// The type `tinyrpc generate` printed for the shop service compiles and types a proxy.
import { expectTypeOf, test } from 'vitest';
import { createMemoryTransport, RpcClient } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import type { ShopApi } from './fixtures/shop-api.ts';

test('the generated ShopApi types getProxy', () => {
  const client = new RpcClient(new JsonRpcProtocol(), createMemoryTransport().client);
  const remote = client.getProxy<ShopApi>();
  expectTypeOf(remote.reverse_string).toEqualTypeOf<(s: string) => Promise<string>>();
  expectTypeOf(remote.order).parameters.toEqualTypeOf<[sku: string, quantity?: number]>();
  expectTypeOf(remote.order).returns.resolves.toEqualTypeOf<{ sku: string; quantity: number }>();
  expectTypeOf(remote['inventory.count']).returns.resolves.toBeNumber();
  expectTypeOf(remote.echo).returns.resolves.toBeUnknown();
  // @ts-expect-error a sku is a string
  void remote.order(1);
  // @ts-expect-error the service has no such method
  expectTypeOf(remote.missing).toBeUnknown();
});
