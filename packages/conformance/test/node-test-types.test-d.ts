// Type-level check: node:test's describe and it fit the kit's runner type as they are.
import { describe, it } from 'node:test';
import { expectTypeOf, test } from 'vitest';
import type { ConformanceRunner } from '@tinyrpc/conformance';

test('node:test fits ConformanceRunner', () => {
  expectTypeOf({ describe, it }).toExtend<ConformanceRunner>();
});
