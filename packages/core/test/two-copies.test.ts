import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as here from '@tinyrpc/core';

// A second installed copy of core: the same sources loaded from another folder, so every class is
// a different object, as in an application that ends up with two versions of the package.
const folder = mkdtempSync(join(tmpdir(), 'tinyrpc-core-copy-'));
let other: typeof here;

beforeAll(async () => {
  cpSync(new URL('../src', import.meta.url), folder, { recursive: true });
  other = (await import(/* @vite-ignore */ join(folder, 'index.ts'))) as typeof here;
});
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

const names = [
  'RpcError',
  'BadRequestError',
  'ParseError',
  'InvalidRequestError',
  'MethodNotFoundError',
  'InvalidParamsError',
  'InternalError',
  'ServerError',
  'BadReplyError',
  'InvalidReplyError',
  'UnexpectedIdError',
  'RpcTimeoutError',
  'TransportError',
  'RemoteError',
] as const;

describe('errors from two installed copies', () => {
  it('are different classes', () => {
    expect(other.TransportError).not.toBe(here.TransportError);
    expect(new other.TransportError()).not.toBeInstanceOf(here.TransportError);
  });

  it('agree on every pair of classes, both ways (14 × 14)', () => {
    let checked = 0;
    for (const guard of names) {
      for (const made of names) {
        for (const [a, b] of [
          [here, other],
          [other, here],
        ] as const) {
          const error = new b[made]();
          const expected = error instanceof b[guard];
          expect(a[guard].is(error), `${guard}.is(other copy's ${made})`).toBe(expected);
          checked++;
        }
      }
    }
    expect(checked).toBe(2 * 14 * 14);
  });

  it('recognise a plugin subclass made by the other copy', () => {
    class OtherHttpError extends other.TransportError {}
    other.registerErrorClass(OtherHttpError, 'HttpTransportError');
    class HereHttpError extends here.TransportError {}
    here.registerErrorClass(HereHttpError, 'HttpTransportError');
    const error = new OtherHttpError('503');
    expect(here.TransportError.is(error)).toBe(true);
    expect(here.RpcError.is(error)).toBe(true);
    expect(HereHttpError.is(error)).toBe(true);
    expect(here.RpcTimeoutError.is(error)).toBe(false);
    expect(HereHttpError.is(new other.TransportError())).toBe(false);
  });
});
