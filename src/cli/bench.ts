/**
 * `smpstop bench`: runs the benchmark suite (bench/main.ts, compiled to
 * dist/bench/main.js) in a child process with the arguments yargs validated,
 * so its table and --json output are exactly those of `npm run bench`.
 */
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { distFile } from '../paths.js';
import { SmpstopError } from '../errors.js';

export async function benchCommand(args: readonly string[]): Promise<number> {
  const main = distFile('bench/main.ts');
  if (!existsSync(main)) throw new SmpstopError('internal', `the benchmark suite is not built: ${main} is missing (it ships with a checkout of smpstop, not the npm package: npm run build there)`);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 4)));
  });
}
