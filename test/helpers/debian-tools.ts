/**
 * External tools that tests check our files with (readelf, gdb-multiarch).
 * When one is missing, it is installed from Debian's packages with apt-get, as
 * CI must do; when that fails the caller's test fails with the reason: these
 * checks are never skipped silently.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ToolRun {
  readonly stdout: string;
  readonly stderr: string;
}

export async function onPath(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes `command` available, installing Debian package `pkg` when it is
 * absent (as root, or through `sudo -n` otherwise). Throws an Error naming the
 * command, the package and the tail of apt-get's output when it cannot.
 */
export async function ensureDebianTool(command: string, pkg: string, timeoutMs = 15 * 60_000): Promise<void> {
  if (await onPath(command)) return;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo -n ';
  const lock = '-o DPkg::Lock::Timeout=600';
  const script =
    `${sudo}apt-get ${lock} update && ` +
    `${sudo}env DEBIAN_FRONTEND=noninteractive apt-get ${lock} install -y --no-install-recommends ${pkg}`;
  let log = '';
  try {
    const r = await run('sh', ['-c', script], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    log = r.stdout + r.stderr;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message?: string };
    log = `${err.stdout ?? ''}${err.stderr ?? ''}${err.message ?? ''}`;
  }
  if (!(await onPath(command))) {
    const tail = log.trim().split('\n').slice(-15).join('\n');
    throw new Error(`'${command}' is not on PATH and installing the Debian package '${pkg}' with apt-get failed:\n${tail}`);
  }
}

/** Runs a tool and returns its output; a non-zero exit throws with both streams. */
export async function runTool(command: string, args: readonly string[], timeoutMs = 120_000): Promise<ToolRun> {
  try {
    const r = await run(command, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${err.message ?? ''}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}
