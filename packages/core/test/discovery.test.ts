// OpenRPC documents from dispatchers with Zod, Valibot and ArkType schemas, checked by the OpenRPC
// project's own validator.
import { readFileSync } from 'node:fs';
import { validateOpenRPCDocument } from '@open-rpc/schema-utils-js';
import { toJsonSchema } from '@valibot/to-json-schema';
import { type } from 'arktype';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import {
  createOpenRpcDocument,
  jsonSchemaOf,
  RpcDispatcher,
  type OpenRpcDocument,
  type StandardSchemaV1,
} from '@tinyrpc/core';
import { stubRequest, type StubResponse } from './stubs.ts';

const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');

const info = { title: 'Shop', version: '1.2.0', description: 'A test service' };

function expectValid(document: OpenRpcDocument): void {
  // The validator answers `true` or an error whose message lists what is wrong.
  const outcome = validateOpenRPCDocument(document);
  expect(outcome === true ? true : outcome.message).toBe(true);
}

function shop(): RpcDispatcher {
  const inventory = new RpcDispatcher().add('count', (sku: string) => sku.length, {
    params: ['sku'],
    schema: z.tuple([z.string().describe('stock keeping unit')]),
    result: z.number().int(),
  });
  return new RpcDispatcher()
    .add('order', (sku: string, quantity = 1) => ({ sku, quantity }), {
      params: ['sku', 'quantity'],
      schema: z.tuple([z.string(), z.number().int().positive().optional()]),
      result: z.object({ sku: z.string(), quantity: z.number() }),
      summary: 'Places an order',
      description: 'Orders `quantity` items of `sku`.',
      errors: [{ code: 4001, message: 'Out of stock' }],
    })
    .add('legacy_order', (sku: string) => sku, { deprecated: true })
    .add('ping', () => 'pong')
    .addSubdispatch(inventory, 'inventory.');
}

describe('createOpenRpcDocument', () => {
  it('describes every method with Zod schemas, and the document validates', () => {
    const document = createOpenRpcDocument(shop(), info);
    expectValid(document);
    expect(document.openrpc).toBe('1.3.2');
    expect(document.info).toEqual(info);
    expect(document.methods.map((m) => m.name)).toEqual([
      'order',
      'legacy_order',
      'ping',
      'inventory.count',
    ]);
    const [order, legacy, ping, count] = document.methods;
    expect(order).toEqual({
      name: 'order',
      params: [
        { name: 'sku', schema: { type: 'string' }, required: true },
        {
          name: 'quantity',
          schema: { type: 'integer', exclusiveMinimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          required: false,
        },
      ],
      result: {
        name: 'result',
        schema: {
          type: 'object',
          properties: { sku: { type: 'string' }, quantity: { type: 'number' } },
          required: ['sku', 'quantity'],
          additionalProperties: false,
        },
      },
      paramStructure: 'either',
      summary: 'Places an order',
      description: 'Orders `quantity` items of `sku`.',
      errors: [{ code: 4001, message: 'Out of stock' }],
    });
    // No names, no schema: positional arguments counted from the function, schemas unknown.
    expect(legacy).toMatchObject({
      params: [{ name: 'arg0', schema: {}, required: true }],
      result: { name: 'result', schema: {} },
      paramStructure: 'by-position',
      deprecated: true,
    });
    expect(ping?.params).toEqual([]);
    expect(count?.params).toEqual([
      {
        name: 'sku',
        schema: { type: 'string', description: 'stock keeping unit' },
        required: true,
        description: 'stock keeping unit',
      },
    ]);
    expect(count?.result.schema).toMatchObject({ type: 'integer' });
  });

  it('takes Valibot schemas through the toJsonSchema hook, and the document validates', () => {
    const dispatcher = new RpcDispatcher().add('greet', (name: string) => `hi ${name}`, {
      params: ['name'],
      schema: v.tuple([v.pipe(v.string(), v.minLength(1))]),
      result: v.string(),
    });
    const without = createOpenRpcDocument(dispatcher, info);
    expectValid(without);
    // Valibot does not implement the Standard JSON Schema interface itself: unknown without the hook.
    expect(without.methods[0]?.params[0]?.schema).toEqual({});

    const document = createOpenRpcDocument(dispatcher, info, {
      toJsonSchema: (schema) => toJsonSchema(schema as v.GenericSchema),
    });
    expectValid(document);
    expect(document.methods[0]?.params).toEqual([
      { name: 'name', schema: { type: 'string', minLength: 1 }, required: true },
    ]);
    expect(document.methods[0]?.result.schema).toEqual({ type: 'string' });
  });

  it('reads ArkType schemas through the Standard JSON Schema interface', () => {
    const dispatcher = new RpcDispatcher().add('scale', (x: number, by = 2) => x * by, {
      schema: type(['number', 'number?']),
    });
    const document = createOpenRpcDocument(dispatcher, info);
    expectValid(document);
    expect(document.methods[0]).toMatchObject({
      paramStructure: 'by-position',
      params: [
        { name: 'arg0', schema: { type: 'number' }, required: true },
        { name: 'arg1', schema: { type: 'number' }, required: false },
      ],
    });
  });

  it('lists a shadowed name once, as the dispatcher answers it', () => {
    const inner = new RpcDispatcher().add('x', () => 'inner').add('y', () => 'y');
    const outer = new RpcDispatcher().add('sub.x', () => 'outer').addSubdispatch(inner, 'sub.');
    expect(createOpenRpcDocument(outer, info).methods.map((m) => m.name)).toEqual([
      'sub.x',
      'sub.y',
    ]);
  });
});

describe('jsonSchemaOf', () => {
  it('is undefined for a schema with no JSON form and for one whose converter throws', () => {
    const plain: StandardSchemaV1 = {
      '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value }) },
    };
    expect(jsonSchemaOf(plain, 'input')).toBeUndefined();
    expect(
      jsonSchemaOf(
        z.string().transform((s) => s.length),
        'output',
      ),
    ).toBeUndefined();
    expect(
      jsonSchemaOf(plain, 'input', {
        toJsonSchema: () => {
          throw new Error('cannot');
        },
      }),
    ).toBeUndefined();
  });
});

describe('enableDiscovery', () => {
  it('answers rpc.discover with the document of what is registered at the time of the call', async () => {
    const dispatcher = shop().enableDiscovery(info);
    const first = (await dispatcher.dispatch(stubRequest('rpc.discover'))) as StubResponse;
    const document = first.result as OpenRpcDocument;
    expectValid(document);
    expect(document.methods.map((m) => m.name)).not.toContain('rpc.discover');
    expect(document.methods).toHaveLength(4);

    dispatcher.add('later', (a: number) => a, { params: ['a'] });
    const second = (await dispatcher.dispatch(stubRequest('rpc.discover', []))) as StubResponse;
    expect((second.result as OpenRpcDocument).methods.map((m) => m.name)).toContain('later');
    // The answer is plain JSON data.
    expect(JSON.parse(second.serialize() as string)).toMatchObject({
      result: { openrpc: '1.3.2' },
    });
  });

  it('takes no params, and a second call throws as any taken name does', async () => {
    const dispatcher = new RpcDispatcher().enableDiscovery(info);
    const wrong = (await dispatcher.dispatch(stubRequest('rpc.discover', [1]))) as StubResponse;
    expect(wrong.error?.code).toBe(-32602);
    expect(() => dispatcher.enableDiscovery(info)).toThrow(TypeError);
  });
});

describe('the README example of discovery', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is the fixture that runs, and prints what its comments say', async () => {
    const readme = /```ts\n(import \{ createOpenRpcDocument[\s\S]*?)```/.exec(
      read('../README.md'),
    )?.[1];
    expect(readme).toBe(read('./fixtures/discovery-example.ts'));
    const lines: unknown[][] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args);
    });
    await import('./fixtures/discovery-example.ts');
    expect(lines).toEqual([
      [['order', 'greet']],
      [[{ name: 'name', schema: { type: 'string' }, required: true }]],
    ]);
  });
});
