import { deadlineHeader, type ClientInterceptor } from '@tinyrpc/core';

/**
 * A client interceptor that sends each call's timeout (or `defaultTimeout`, the client's) as the
 * `Tinyrpc-Deadline` header, so the server sees `context.deadline` and skips calls whose caller
 * has already given up. `client.use(sendDeadline(5000))` on a client made with `{ timeout: 5000 }`.
 *
 * @deprecated Unnecessary: `RpcClient` hands the transport every call's deadline (its timeout, the
 * client's or the transport's `defaultTimeout`), and `NatsClientTransport` sends it as
 * `Tinyrpc-Deadline`, replacing the header this interceptor sets. It still works; remove it.
 */
export function sendDeadline(defaultTimeout?: number): ClientInterceptor {
  return (call, next) => {
    const timeout = call.options.timeout ?? defaultTimeout;
    if (timeout !== undefined && Number.isFinite(timeout)) {
      call.headers[deadlineHeader] = String(Math.max(0, Math.floor(timeout)));
    }
    return next();
  };
}
