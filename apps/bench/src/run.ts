// Runs every scenario in src/scenarios (or those whose file name contains an argument) and prints a
// table per scenario. Scenarios are found by listing the folder, so adding one touches no list.
// A file that exports `byNameOnly = true` (a slow one) runs only when an argument names it exactly;
// an argument equal to a file's name picks that file alone (`stream` is not `streams`).
import { readdirSync } from 'node:fs';
import { report, type Scenario } from './measure.ts';

const folder = new URL('./scenarios/', import.meta.url);
const filters = process.argv.slice(2);
const all = readdirSync(folder)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();
const picked = (name: string, filter: string): boolean =>
  all.includes(filter) ? name === filter : name.includes(filter);
const files = all.filter((name) => filters.length === 0 || filters.some((f) => picked(name, f)));

console.log(
  `# tinyrpc benchmarks (node ${process.version}, ${String(Number(process.env['BENCH_SECONDS'] ?? '2'))} s per contender)`,
);
for (const name of files) {
  const { scenarios, byNameOnly } = (await import(new URL(`${name}.ts`, folder).href)) as {
    scenarios: Scenario[];
    byNameOnly?: boolean;
  };
  if (byNameOnly === true && !filters.includes(name)) {
    console.log(`\n(${name}: slow, runs only when named: bench ${name})`);
    continue;
  }
  for (const scenario of scenarios) report(scenario, await scenario.run());
}
