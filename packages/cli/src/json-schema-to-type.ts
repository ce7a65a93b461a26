// JSON Schema (draft-07 and 2020-12, as OpenRPC documents carry them) to TypeScript type text. What
// has no TypeScript form (formats, ranges, patterns) widens to its base type; what is not understood
// becomes `unknown`, never an error, so any document generates something that compiles.

/** How {@link schemaToType} names `$ref`s: `#/components/schemas/Name` to a type name, else `undefined`. */
export type RefNamer = (ref: string) => string | undefined;

const maxDepth = 32;

/** The TypeScript type of `schema`; `unknown` for `{}`, for what is not understood and past 32 levels. */
export function schemaToType(schema: unknown, nameRef: RefNamer = () => undefined): string {
  return convert(schema, nameRef, 0);
}

function convert(schema: unknown, nameRef: RefNamer, depth: number): string {
  if (schema === true) return 'unknown';
  if (schema === false) return 'never';
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'unknown';
  if (depth > maxDepth) return 'unknown';
  const s = schema as Record<string, unknown>;
  const next = (inner: unknown): string => convert(inner, nameRef, depth + 1);

  if (typeof s['$ref'] === 'string') return nameRef(s['$ref']) ?? 'unknown';
  if ('const' in s) return literal(s['const']);
  if (Array.isArray(s['enum'])) return union(s['enum'].map(literal));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = s[key];
    if (Array.isArray(members) && members.length > 0) return withNull(s, union(members.map(next)));
  }
  if (Array.isArray(s['allOf']) && s['allOf'].length > 0) {
    return s['allOf'].map((member) => parenthesize(next(member))).join(' & ');
  }
  const types = Array.isArray(s['type']) ? (s['type'] as unknown[]) : [s['type']];
  const known = types.filter((t): t is string => typeof t === 'string');
  if (known.length === 0) {
    if ('properties' in s || 'additionalProperties' in s) return objectType(s, next);
    if ('items' in s || 'prefixItems' in s) return arrayType(s, next);
    return 'unknown';
  }
  return withNull(s, union(known.map((type) => ofType(type, s, next))));
}

function ofType(
  type: string,
  s: Record<string, unknown>,
  next: (inner: unknown) => string,
): string {
  switch (type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return arrayType(s, next);
    case 'object':
      return objectType(s, next);
    default:
      return 'unknown';
  }
}

function arrayType(s: Record<string, unknown>, next: (inner: unknown) => string): string {
  // A tuple: 2020-12 `prefixItems` (rest in `items`), or draft-07 `items: [...]` (rest in
  // `additionalItems`).
  const tuple = Array.isArray(s['prefixItems'])
    ? { items: s['prefixItems'] as unknown[], rest: s['items'] }
    : Array.isArray(s['items'])
      ? { items: s['items'] as unknown[], rest: s['additionalItems'] }
      : undefined;
  if (tuple === undefined) {
    return 'items' in s ? `${parenthesize(next(s['items']))}[]` : 'unknown[]';
  }
  const minItems = typeof s['minItems'] === 'number' ? s['minItems'] : tuple.items.length;
  const members = tuple.items.map((item, index) => `${next(item)}${index < minItems ? '' : '?'}`);
  if (tuple.rest !== false && tuple.rest !== undefined) {
    members.push(`...${parenthesize(next(tuple.rest))}[]`);
  } else if (tuple.rest === undefined) {
    members.push('...unknown[]');
  }
  return `[${members.join(', ')}]`;
}

function objectType(s: Record<string, unknown>, next: (inner: unknown) => string): string {
  const properties =
    typeof s['properties'] === 'object' && s['properties'] !== null
      ? Object.entries(s['properties'] as Record<string, unknown>)
      : [];
  const required = new Set(Array.isArray(s['required']) ? s['required'] : []);
  const extra = s['additionalProperties'];
  const members = properties.map(
    ([name, value]) => `${propertyName(name)}${required.has(name) ? '' : '?'}: ${next(value)}`,
  );
  if (extra !== false) {
    // Declared properties must fit the index signature, so it widens to unknown beside them.
    const valueType =
      extra === undefined || extra === true || members.length > 0 ? 'unknown' : next(extra);
    if (members.length === 0) return `Record<string, ${valueType}>`;
    if (extra !== undefined) members.push(`[key: string]: ${valueType}`);
  }
  return members.length === 0 ? 'Record<string, never>' : `{ ${members.join('; ')} }`;
}

function withNull(s: Record<string, unknown>, type: string): string {
  // OpenAPI 3.0's `nullable`, which some converters emit.
  return s['nullable'] === true ? union([type, 'null']) : type;
}

function union(members: string[]): string {
  const unique = [...new Set(members)];
  if (unique.includes('unknown')) return 'unknown';
  return unique.length === 0 ? 'never' : unique.map(parenthesize).join(' | ');
}

// Wraps a union or intersection so that it can take `[]` or stand in another union.
function parenthesize(type: string): string {
  let depth = 0;
  let quoted = false;
  let escaped = false;
  for (const char of type) {
    if (quoted) {
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === "'") quoted = false;
    } else if (char === "'") quoted = true;
    else if ('([{<'.includes(char)) depth += 1;
    else if (')]}>'.includes(char)) depth -= 1;
    else if (depth === 0 && (char === '|' || char === '&')) return `(${type})`;
  }
  return type;
}

function literal(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    return JSON.stringify(value);
  }
  return 'unknown';
}

/** `name` as a property key: bare when it is an identifier, quoted otherwise. */
export function propertyName(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : quote(name);
}

// A single-quoted string literal, as the house style writes them. JSON escapes every `"`, so each
// `\"` in its text is one escaped quote.
function quote(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'");
  return `'${escaped}'`;
}
