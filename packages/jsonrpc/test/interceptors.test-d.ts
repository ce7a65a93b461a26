import {
  RpcClient,
  RpcServer,
  concurrencyLimit,
  logCalls,
  retry,
  type ClientCall,
  type ClientInterceptor,
  type ServerCall,
  type ServerInterceptor,
} from '@tinyrpc/core';
import { describe, expectTypeOf, it } from 'vitest';

declare const client: RpcClient;
declare const server: RpcServer;

describe('interceptor types', () => {
  it('types the call on each side', () => {
    const onServer: ServerInterceptor = async (call, next) => {
      expectTypeOf(call).toEqualTypeOf<ServerCall>();
      expectTypeOf(call.context.signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(next).toEqualTypeOf<() => Promise<unknown>>();
      return next();
    };
    const onClient: ClientInterceptor = (call, next) => {
      expectTypeOf(call).toEqualTypeOf<ClientCall>();
      expectTypeOf(call.headers).toEqualTypeOf<Record<string, string>>();
      return next();
    };
    expectTypeOf(server.use(onServer)).toEqualTypeOf<RpcServer>();
    expectTypeOf(client.use(onClient)).toEqualTypeOf<RpcClient>();
  });

  it('lets the shared interceptors serve both sides, and retry only clients', () => {
    server.use(concurrencyLimit({ maxConcurrent: 1 })).use(logCalls());
    client
      .use(concurrencyLimit({ maxConcurrent: 1 }))
      .use(logCalls())
      .use(retry({ idempotent: ['get'] }));
    // @ts-expect-error -- retry needs to know which methods are idempotent
    retry({});
    // @ts-expect-error -- a server call has no headers to write
    const bad: ServerInterceptor = (call: ClientCall, next) => next();
    expectTypeOf(bad).toBeFunction();
  });
});
