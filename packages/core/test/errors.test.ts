import { describe, expect, it } from 'vitest';
import {
  BadReplyError,
  BadRequestError,
  InternalError,
  InvalidParamsError,
  InvalidReplyError,
  InvalidRequestError,
  MethodNotFoundError,
  ParseError,
  RemoteError,
  RpcError,
  RpcTimeoutError,
  ServerError,
  toErrorObject,
  TransportError,
  UnexpectedIdError,
  registerErrorClass,
} from '@tinyrpc/core';
import { stubRequest } from './stubs.ts';

describe('error classes', () => {
  it.each([
    [RpcError, -32000, 'Server error', undefined],
    [BadRequestError, -32600, 'Invalid Request', RpcError],
    [ParseError, -32700, 'Parse error', BadRequestError],
    [InvalidRequestError, -32600, 'Invalid Request', BadRequestError],
    [MethodNotFoundError, -32601, 'Method not found', RpcError],
    [InvalidParamsError, -32602, 'Invalid params', RpcError],
    [InternalError, -32603, 'Internal error', RpcError],
    [ServerError, -32000, 'Server error', RpcError],
    [BadReplyError, -32603, 'Invalid reply', RpcError],
    [InvalidReplyError, -32603, 'Invalid reply', BadReplyError],
    [UnexpectedIdError, -32603, 'Reply id matches no pending call', BadReplyError],
    [RpcTimeoutError, -32603, 'Call timed out', RpcError],
    [TransportError, -32603, 'Transport failed', RpcError],
    [RemoteError, -32000, 'Server error', RpcError],
  ] as const)(
    '%o has its default code, message, name and parent',
    (Class, code, message, Parent) => {
      const error = new Class();
      expect(error.code).toBe(code);
      expect(error.message).toBe(message);
      expect(error.name).toBe(Class.name);
      expect(error).toBeInstanceOf(Error);
      if (Parent !== undefined) expect(error).toBeInstanceOf(Parent);
      expect(RpcError.is(error)).toBe(true);
      expect(Class.is(error)).toBe(true);
    },
  );

  it('takes a message, code, data and cause of its own', () => {
    const cause = new Error('disk full');
    const error = new RpcError('Out of stock', { code: 4001, data: { sku: 'A1' }, cause });
    expect(error).toMatchObject({ message: 'Out of stock', code: 4001, data: { sku: 'A1' } });
    expect(error.cause).toBe(cause);
    expect(new MethodNotFoundError('no such thing').code).toBe(-32601);
    expect(new InvalidParamsError(undefined, { data: 'x' }).message).toBe('Invalid params');
  });

  it('is recognised by marker, not by name or shape', () => {
    expect(RpcError.is(new Error('plain'))).toBe(false);
    expect(RpcError.is(null)).toBe(false);
    expect(RpcError.is('RpcError')).toBe(false);
    expect(RpcError.is({ name: 'RpcError', code: -32000 })).toBe(false);
    expect(TransportError.is(Object.assign(new Error('x'), { name: 'TransportError' }))).toBe(
      false,
    );
  });

  it('tells a remote error from a local failure with the same code', () => {
    const remote = new RemoteError('Internal error', { code: -32603 });
    const local = new TransportError();
    expect(remote.code).toBe(local.code);
    expect(remote.remote).toBe(true);
    expect([local, new RpcTimeoutError(), new InvalidReplyError()].map((e) => e.remote)).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('recognises user subclasses, registered or not', () => {
    class OutOfStockError extends RpcError {}
    class PaymentError extends RpcError {}
    registerErrorClass(PaymentError, 'PaymentError');
    expect(OutOfStockError.is(new OutOfStockError())).toBe(true);
    expect(new OutOfStockError().name).toBe('OutOfStockError');
    expect(RpcError.is(new PaymentError())).toBe(true);
    expect(PaymentError.is(new OutOfStockError())).toBe(false);
  });

  it('is() of a class accepts subclasses and rejects siblings', () => {
    expect(BadRequestError.is(new ParseError())).toBe(true);
    expect(ParseError.is(new InvalidRequestError())).toBe(false);
    expect(RpcError.is(new TransportError())).toBe(true);
    expect(TransportError.is(new Error('x'))).toBe(false);
  });

  it('keeps a response built for it', () => {
    const response = stubRequest('m').respond(1);
    expect(new ParseError(undefined, { response }).response).toBe(response);
  });
});

describe('toErrorObject', () => {
  it('keeps an RpcError’s code, message and data, and adds no data it has none of', () => {
    expect(toErrorObject(new RpcError('Out of stock', { code: 4001, data: [1] }))).toStrictEqual({
      code: 4001,
      message: 'Out of stock',
      data: [1],
    });
    expect(toErrorObject(new MethodNotFoundError())).toStrictEqual({
      code: -32601,
      message: 'Method not found',
    });
  });

  it('keeps an RpcError’s message even when messages are hidden', () => {
    expect(toErrorObject(new RpcError('chosen', { code: 1 }), true)).toStrictEqual({
      code: 1,
      message: 'chosen',
    });
  });

  it('answers any other error as a server error with its message, or a generic one', () => {
    expect(toErrorObject(new TypeError('x is undefined'))).toStrictEqual({
      code: -32000,
      message: 'x is undefined',
    });
    expect(toErrorObject(new Error('secret path /etc'), true)).toStrictEqual({
      code: -32000,
      message: 'Server error',
    });
    expect(toErrorObject('just a string')).toStrictEqual({
      code: -32000,
      message: 'just a string',
    });
    expect(toErrorObject(42)).toStrictEqual({ code: -32000, message: '42' });
    expect(toErrorObject(undefined)).toStrictEqual({ code: -32000, message: 'undefined' });
  });

  it('never carries a stack', () => {
    const object = toErrorObject(new Error('boom'));
    expect(Object.keys(object)).toEqual(['code', 'message']);
    expect(JSON.stringify(object)).not.toContain('at ');
  });

  it('survives values that cannot be turned into a string', () => {
    const generic = { code: -32000, message: 'Server error' };
    expect(toErrorObject(Object.create(null))).toStrictEqual(generic);
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    expect(toErrorObject(hostile)).toStrictEqual(generic);
    const badMessage = new Error('x');
    Object.defineProperty(badMessage, 'message', {
      get() {
        throw new Error('no');
      },
    });
    expect(toErrorObject(badMessage)).toStrictEqual(generic);
  });
});
