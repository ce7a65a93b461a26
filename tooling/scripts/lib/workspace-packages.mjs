// The packages of the repository as an installed application sees them, found from the folders
// under packages/ (never a list): shared by the checks that need a consumer's node_modules.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

export const root = new URL('../../..', import.meta.url).pathname;

/** Every package under packages/: its folder, name and package.json. */
export function workspacePackages() {
  return readdirSync(join(root, 'packages'))
    .filter((folder) => existsSync(join(root, 'packages', folder, 'package.json')))
    .map((folder) => {
      const manifest = JSON.parse(
        readFileSync(join(root, 'packages', folder, 'package.json'), 'utf8'),
      );
      return { folder, name: manifest.name, manifest };
    });
}

/**
 * Makes `dir` a consumer project: a package.json of its own (so nothing above it is taken for its
 * scope) and node_modules/@tinyrpc/* linked to the package folders, which resolve their own
 * dependencies from their real place.
 */
export function linkWorkspacePackages(dir, manifest = { private: true }) {
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  for (const { folder, name } of workspacePackages()) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(root, 'packages', folder), link, 'dir');
  }
}
