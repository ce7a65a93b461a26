// Runs the kit under node:test against a transport that drops every tenth reply: node:test must
// report failures (and exit non-zero).
import { describe, it } from 'node:test';
import { runTransportConformance } from '@tinyrpc/conformance';
import { createPipeFixture } from '../support/pipe-transport.ts';

runTransportConformance(
  { describe, it },
  {
    name: 'a transport that drops every tenth reply',
    createFixture: () => createPipeFixture({ dropEvery: 10 }),
    timeout: 500,
  },
);
