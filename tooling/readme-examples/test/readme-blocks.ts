import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One ```ts block of a README. */
export interface ReadmeBlock {
  /** Where it is, for the test's name: `packages/core/README.md:12`. */
  readonly where: string;
  readonly code: string;
}

/** A README of the repository and the package it documents, if any. */
export interface Readme {
  readonly path: string;
  /** Set for a package README: the package's name and folder. */
  readonly pkg?: { readonly name: string; readonly folder: string };
}

/** The root README and the README of every folder under packages/. */
export function findReadmes(root: string): Readme[] {
  const packages = readdirSync(join(root, 'packages'))
    .filter((folder) => existsSync(join(root, 'packages', folder, 'package.json')))
    .map((folder) => {
      const manifest = JSON.parse(
        readFileSync(join(root, 'packages', folder, 'package.json'), 'utf8'),
      ) as { name: string };
      return { path: `packages/${folder}/README.md`, pkg: { name: manifest.name, folder } };
    });
  return [{ path: 'README.md' }, ...packages];
}

/**
 * The runnable ```ts blocks of a markdown text. A block whose info string says `fragment`
 * (```` ```ts fragment ````) shows options or a piece of a program and is not run.
 */
export function runnableBlocks(path: string, markdown: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const info = /^```(\S+)(.*)$/.exec(lines[i] ?? '');
    if (info === null) continue;
    const end = lines.indexOf('```', i + 1);
    if (info[1] === 'ts' && !/\bfragment\b/.test(info[2] ?? '')) {
      blocks.push({ where: `${path}:${String(i + 2)}`, code: lines.slice(i + 1, end).join('\n') });
    }
    i = end;
  }
  return blocks;
}
