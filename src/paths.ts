/** Locating the package's compiled files from either its sources or dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let root: string | null = null;

/** The smpstop package directory (the one holding its package.json). */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'smpstop') return (root = dir);
      } catch {
        /* keep walking */
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the smpstop package root');
    dir = up;
  }
}

/** Compiled JavaScript of a package source path, e.g. `cpus/worker.ts` -> `<root>/dist/cpus/worker.js`. */
export function distFile(rel: string): string {
  return join(packageRoot(), 'dist', rel.replace(/\.ts$/, '.js'));
}

/** A module specifier for dynamic import: absolute paths become file URLs; `.ts` sources inside the package map to dist. */
export function moduleUrl(spec: string): string {
  if (spec.startsWith('file:') || spec.startsWith('node:')) return spec;
  let p = isAbsolute(spec) ? spec : resolve(spec);
  const r = packageRoot();
  if (p.endsWith('.ts') && p.startsWith(r + '/') && !p.startsWith(join(r, 'dist') + '/')) {
    p = join(r, 'dist', p.slice(r.length + 1)).replace(/\.ts$/, '.js');
  }
  return pathToFileURL(p).href;
}
