// OpenRPC (spec.open-rpc.org, 1.3) documents generated from what a dispatcher holds. JSON Schemas come
// from the Standard JSON Schema interface that Zod 4 and ArkType implement, or from a converter the
// caller passes in (Valibot's `toJsonSchema`), so core needs no schema library.
import { listedMethods, type ListedMethod, type RpcDispatcher } from './dispatcher.ts';
import type { StandardSchemaV1 } from './standard-schema.ts';

/** The `info` of an OpenRPC document: what the service is called and which version it is. */
export interface DiscoveryInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

/** A JSON Schema (draft-07, as OpenRPC 1.3 uses), as a plain object. */
export type JsonSchema = Record<string, unknown>;

/** Options of {@link createOpenRpcDocument} and `RpcDispatcher.enableDiscovery`. */
export interface DiscoveryOptions {
  /**
   * Turns a Standard Schema into a JSON Schema when it does not offer one itself (Valibot:
   * `(schema) => toJsonSchema(schema)` from `@valibot/to-json-schema`). `io` says whether the
   * schema's input (params) or output (result) is wanted. Return `undefined` for "unknown".
   */
  readonly toJsonSchema?: (schema: StandardSchemaV1, io: 'input' | 'output') => object | undefined;
}

/** An OpenRPC content descriptor: a named value and its schema. */
export interface OpenRpcContentDescriptor {
  readonly name: string;
  readonly schema: JsonSchema;
  readonly required?: boolean;
  readonly description?: string;
}

/** One method of an OpenRPC document. */
export interface OpenRpcMethod {
  readonly name: string;
  readonly params: OpenRpcContentDescriptor[];
  readonly result: OpenRpcContentDescriptor;
  readonly paramStructure: 'by-name' | 'by-position' | 'either';
  readonly summary?: string;
  readonly description?: string;
  readonly deprecated?: boolean;
  readonly errors?: { code: number; message: string; data?: unknown }[];
}

/** An OpenRPC 1.3 document, as `rpc.discover` answers it. */
export interface OpenRpcDocument {
  readonly openrpc: string;
  readonly info: DiscoveryInfo;
  readonly methods: OpenRpcMethod[];
}

/** The OpenRPC version of the documents this module writes. */
export const openRpcVersion = '1.3.2';

/**
 * Builds the OpenRPC document of every method `dispatcher` answers (prefixes and subdispatchers
 * included, `rpc.discover` itself left out): names, parameter names from `params`, JSON Schemas
 * from `schema` and `result` where they can be had (`{}` where not), description, summary,
 * deprecation and declared errors.
 */
export function createOpenRpcDocument(
  dispatcher: RpcDispatcher,
  info: DiscoveryInfo,
  options: DiscoveryOptions = {},
): OpenRpcDocument {
  const methods = listedMethods(dispatcher)
    .filter((method) => method.name !== 'rpc.discover')
    .map((method) => describeMethod(method, options));
  return { openrpc: openRpcVersion, info: { ...info }, methods };
}

function describeMethod(method: ListedMethod, options: DiscoveryOptions): OpenRpcMethod {
  const {
    params: names,
    schema,
    result,
    summary,
    description,
    deprecated,
    errors,
  } = method.options;
  const argumentList = schema === undefined ? undefined : jsonSchemaOf(schema, 'input', options);
  const items = tupleItems(argumentList);
  const count = names?.length ?? items?.length ?? method.required;
  const minimum = Math.max(
    method.required,
    typeof argumentList?.['minItems'] === 'number' ? argumentList['minItems'] : 0,
  );
  const params = Array.from({ length: count }, (_, index): OpenRpcContentDescriptor => {
    const itemSchema = items?.[index] ?? {};
    const { description: paramDescription } = itemSchema;
    return {
      name: names?.[index] ?? `arg${String(index)}`,
      schema: itemSchema,
      required: index < minimum,
      ...(typeof paramDescription === 'string' ? { description: paramDescription } : {}),
    };
  });
  const resultSchema = result === undefined ? undefined : jsonSchemaOf(result, 'output', options);
  return {
    name: method.name,
    params,
    result: { name: 'result', schema: resultSchema ?? {} },
    paramStructure: names === undefined ? 'by-position' : 'either',
    ...(summary === undefined ? {} : { summary }),
    ...(description === undefined ? {} : { description }),
    ...(deprecated === undefined ? {} : { deprecated }),
    ...(errors === undefined ? {} : { errors: errors.map((error) => ({ ...error })) }),
  };
}

interface StandardJsonSchemaProps {
  readonly jsonSchema?: {
    readonly input: (options: { readonly target: string }) => JsonSchema;
    readonly output: (options: { readonly target: string }) => JsonSchema;
  };
}

/**
 * The JSON Schema of a Standard Schema's input or output: from the Standard JSON Schema interface
 * (`~standard.jsonSchema`) when the library implements it, else from `options.toJsonSchema`;
 * `undefined` when neither knows (or the schema has no JSON form, such as a transform).
 */
export function jsonSchemaOf(
  schema: StandardSchemaV1,
  io: 'input' | 'output',
  options: DiscoveryOptions = {},
): JsonSchema | undefined {
  try {
    const converter = (schema['~standard'] as StandardJsonSchemaProps).jsonSchema;
    const converted: unknown =
      converter === undefined
        ? options.toJsonSchema?.(schema, io)
        : converter[io]({ target: 'draft-07' });
    if (typeof converted !== 'object' || converted === null) return undefined;
    // The dialect is the document's (draft-07); a per-parameter schema does not repeat it.
    const rest = { ...converted } as JsonSchema;
    delete rest['$schema'];
    return rest;
  } catch {
    return undefined;
  }
}

// The per-argument schemas of a tuple: draft-07 `items: [...]` or 2020-12 `prefixItems`.
function tupleItems(schema: JsonSchema | undefined): JsonSchema[] | undefined {
  if (schema === undefined) return undefined;
  const items = Array.isArray(schema['prefixItems']) ? schema['prefixItems'] : schema['items'];
  return Array.isArray(items) ? (items as JsonSchema[]) : undefined;
}
