/**
 * User modules (kernel variants, checkers, faults): validated and imported
 * into this thread. smpstop imports the same modules again, by the same path,
 * in every thread that runs a machine (CPU workers, campaign workers).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';
import { moduleUrl } from '../paths.js';

/**
 * Imports each module (a path, relative to the working directory, or a file
 * URL) into this thread, so that its definitions show in `listVariants`,
 * `listCheckers` and `listFaults`; returns the absolute paths, which is the
 * form RunOptions.modules and campaign files keep.
 */
export async function loadModules(modules: readonly string[], field = 'modules'): Promise<string[]> {
  const out: string[] = [];
  for (const m of modules) {
    const path = m.startsWith('file:') ? fileURLToPath(m) : resolve(m);
    if (!existsSync(path)) throw new InputError(field, `${m === path ? path : `${m} (${path})`} does not exist`);
    try {
      await import(moduleUrl(path));
    } catch (e) {
      if (e && typeof e === 'object' && (e as { code?: unknown }).code === 'bad-input') throw e;
      throw new InputError(field, `${m} failed to load: ${e instanceof Error ? e.message : String(e)}`);
    }
    out.push(path);
  }
  return out;
}
