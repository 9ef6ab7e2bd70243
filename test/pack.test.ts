/**
 * The published package (issue 9): `npm pack` it, install the tarball into a
 * fresh project (dependencies from the npm cache: --prefer-offline), compile
 * examples against the installed type declarations, and run them: a plain
 * script in both engines, the installed CLI with a user variant, and a
 * vitest file in the project that imports its variant module and also hands
 * it to smpstop. Also: a module importing another copy of smpstop is
 * refused with a clear message.
 */
import { beforeAll, describe, it, expect } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../dist/src/paths.js';

const root = packageRoot();
const dir = mkdtempSync(join(tmpdir(), 'smpstop-pack-'));
const proj = join(dir, 'proj');

/** The environment of a child npm, node or vitest: without this vitest's and this npm script's variables. */
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|npm_lifecycle|npm_package|NODE_OPTIONS$|FORCE_COLOR$|TINYPOOL)/.test(k))), NO_COLOR: '1' };

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}
function ok(r: SpawnSyncReturns<string>): string {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

let files: string[] = [];

beforeAll(() => {
  // dist/ is fresh (npm test builds first), so the prepare script need not build again.
  const packed = JSON.parse(ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root))) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path);
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'smpstop-user', private: true, type: 'module' }));
  ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed[0]!.filename)], proj));
  // The user's sources: examples/ as they are, compiled against the installed declarations.
  for (const f of ['my-v5.ts', 'quickstart.ts', 'stopped-twice.ts']) copyFileSync(join(root, 'examples', f), join(proj, f));
  writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true,
      types: ['node'], typeRoots: [join(root, 'node_modules/@types')],
    },
    include: ['*.ts'],
  }));
}, 120_000);

describe('npm pack', () => {
  it('ships the compiled library, its type declarations, the CLI and the README, and nothing else', () => {
    for (const f of ['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/cpus/worker.js', 'dist/firmware/el3.js', 'dist/src/stress/sim-worker.js']) {
      expect(files).toContain(f);
    }
    for (const f of files) expect(f).toMatch(/^(package\.json|README\.md|dist\/(src|cpus|firmware)\/.*\.(js|d\.ts))$/);
  });

  it('the examples compile against the installed package', () => {
    ok(run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.'], proj));
  });

  it('a plain script runs a user variant in both engines and writes a trace and a vmcore', () => {
    const out = ok(run(process.execPath, ['quickstart.js', dir], proj));
    expect(out).toMatch(/^sim: outcome kexec; CPU 1 stopped by sdei, note lkdtm_HARDLOCKUP\+0x[0-9a-f]+; violations 0$/m);
    expect(out).toMatch(/^threads: outcome kexec; CPU 1 stopped by sdei, note lkdtm_HARDLOCKUP\+0x[0-9a-f]+; violations 0$/m);
    expect(out).toMatch(/^trace \d+ bytes; vmcore notes for CPUs 0,1,2,3$/m);
  });

  it('the installed CLI lists and runs the user variant', () => {
    const bin = join(proj, 'node_modules/.bin/smpstop');
    expect(ok(run(bin, ['list', 'kernels', '--kernel-module', './my-v5.js'], proj))).toMatch(/^ {2}my-v5 +final with the SDEI rung/m);
    const r = JSON.parse(ok(run(bin, ['run', '--kernel-module', './my-v5.js', '--kernel', 'my-v5', '--pseudo-nmi', '--engine', 'threads', '--json'], proj))) as { cpus: { stoppedBy: string }[] };
    expect(r.cpus.map((c) => c.stoppedBy)).toEqual(['none', 'sdei', 'ipi', 'ipi']);
  });

  it('vitest in the project: a test that imports its modules and hands them to smpstop too', () => {
    // vitest runs the test file and its static imports through its own module loader, smpstop (in node_modules)
    // natively: the modules are evaluated twice in one thread, and the same definitions must be accepted twice.
    symlinkSync(join(root, 'node_modules/vitest'), join(proj, 'node_modules/vitest'));
    writeFileSync(join(proj, 'vitest.config.mjs'), 'export default { test: { include: ["*.test.mjs"] } };\n');
    writeFileSync(join(proj, 'user.test.mjs'), `
import { afterAll, it, expect } from 'vitest';
import { runScenario, listVariants, shutdownThreadsEngine } from 'smpstop';
import { MY_V5 } from './my-v5.js';
import './stopped-twice.js';
const modules = ['./my-v5.js', './stopped-twice.js'].map((m) => new URL(m, import.meta.url).pathname);
afterAll(() => shutdownThreadsEngine());
it.each(['sim', 'threads'])('%s', async (engine) => {
  const r = await runScenario({ cpus: 3, kernel: { variant: 'my-v5', pseudoNmi: true, kdump: true }, faults: [{ cpu: 1, wedge: 'irqs-off' }], triggers: [{ kind: 'panic', cpu: 0 }] }, { engine, modules });
  expect(r.cpus[1].stoppedBy).toBe('sdei');
  expect(r.violations).toEqual([]);
  expect(listVariants().find((v) => v.name === 'my-v5')).toBe(MY_V5);
});
`);
    const out = ok(run(process.execPath, [join(proj, 'node_modules/vitest/vitest.mjs'), 'run'], proj));
    expect(out.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests +2 passed/);
  });

  it('a module that imports another copy of smpstop is refused (exit 2), naming both copies', () => {
    const r = run(process.execPath, [join(root, 'dist/src/cli/main.js'), 'run', '--kernel-module', join(proj, 'my-v5.js'), '--kernel', 'my-v5'], proj);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('two copies of smpstop are loaded in this thread');
    expect(r.stderr).toContain(join(proj, 'node_modules/smpstop/dist/src/'));
  });
});
