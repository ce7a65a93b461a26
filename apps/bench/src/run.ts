// Runs every scenario in src/scenarios (or those whose file name contains an argument) and prints a
// table per scenario. Scenarios are found by listing the folder, so adding one touches no list.
import { readdirSync } from 'node:fs';
import { report, type Scenario } from './measure.ts';

const folder = new URL('./scenarios/', import.meta.url);
const filters = process.argv.slice(2);
const files = readdirSync(folder)
  .filter((file) => file.endsWith('.ts'))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();

console.log(
  `# tinyrpc benchmarks (node ${process.version}, ${String(Number(process.env['BENCH_SECONDS'] ?? '2'))} s per contender)`,
);
for (const file of files) {
  const { scenarios } = (await import(new URL(file, folder).href)) as { scenarios: Scenario[] };
  for (const scenario of scenarios) report(scenario, await scenario.run());
}
