// Loads Express 5 for the tests. The root vitest config hands its resolve conditions (`import`
// among them) to Node as `--conditions`, so Express's router, a CommonJS module, would `require()`
// the ESM build of `is-promise` and get a namespace object instead of the function. Seeding the
// require cache with the CommonJS build avoids that; when the conditions are fixed this does nothing.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const routerRequire = createRequire(createRequire(require.resolve('express')).resolve('router'));
const resolved = routerRequire.resolve('is-promise');
if (resolved.endsWith('.mjs')) {
  const commonJs: unknown = routerRequire(resolved.replace(/\.mjs$/, '.js'));
  routerRequire.cache[resolved] = {
    id: resolved,
    filename: resolved,
    loaded: true,
    exports: commonJs,
  } as NodeJS.Module;
}

const { default: express } = await import('express');
export { express };
