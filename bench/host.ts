/**
 * Host-side measurement helpers for the benchmarks: order statistics, process
 * CPU time, peak RSS, and a description of what else the host was doing.
 * (Benchmarks read the host clock directly: they measure the model, they are
 * not part of it.)
 */
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** The q-quantile (nearest rank on the sorted values); NaN for no values. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}

/** Host monotonic time in ns (the same clock the threads engine's guest clock follows). */
export function hostNs(): number {
  return Number(process.hrtime.bigint());
}

export function hostMs(): number {
  return hostNs() / 1e6;
}

/** Process CPU time (all threads: main, CPU workers, helpers), in ms. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Resets the kernel's peak-RSS mark for this process (Linux /proc/self/clear_refs
 * value 5), so `peakRssMb` measures one run. Returns false where unsupported.
 */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak RSS since the last reset (VmHWM), or the current RSS where /proc is unavailable. */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage.rss() / 2 ** 20;
}

/** Threads of this process (Linux), for the notes. */
export function threadCount(): number {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return 0;
  }
}

function procCpuTicks(): Map<number, { ticks: number; cmd: string }> {
  const out = new Map<number, { ticks: number; cmd: string }>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      let cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (!cmd) cmd = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(Number(pid), { ticks: Number(f[11]) + Number(f[12]), cmd });
    } catch {
      /* process gone */
    }
  }
  return out;
}

/**
 * What else the host is doing: the load average and the other processes that
 * used over 5% of a core during a `sampleMs` window (Linux /proc), for the notes.
 */
export async function otherLoad(sampleMs = 500): Promise<string> {
  const avg = loadavg().map((x) => x.toFixed(2)).join(' ');
  const busy: string[] = [];
  try {
    const a = procCpuTicks();
    await sleepMs(sampleMs);
    const b = procCpuTicks();
    const hz = 100;
    const rows: { pct: number; cmd: string }[] = [];
    for (const [pid, v] of b) {
      const before = a.get(pid);
      if (!before) continue;
      const pct = (100 * (v.ticks - before.ticks)) / hz / (sampleMs / 1000);
      if (pct >= 5) rows.push({ pct, cmd: v.cmd.length > 70 ? `${v.cmd.slice(0, 67)}...` : v.cmd });
    }
    rows.sort((x, y) => y.pct - x.pct);
    for (const r of rows.slice(0, 4)) busy.push(`${r.pct.toFixed(0)}% ${r.cmd}`);
  } catch {
    /* not Linux */
  }
  return `load average ${avg}, ${cpus().length} cores${busy.length ? `; other processes: ${busy.join(' | ')}` : '; no other busy process'}`;
}

/** Host-wide CPU tick counters (Linux /proc/stat, all cores): busy, idle and stolen by the hypervisor. */
export function cpuTicks(): { busy: number; idle: number; steal: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
  } catch {
    return null;
  }
}

/** Share of the host's CPU time between two cpuTicks() readings: busy (all processes) and stolen, in %. */
export function tickShares(a: ReturnType<typeof cpuTicks>, b: ReturnType<typeof cpuTicks>): { busyPercent: number; stealPercent: number } {
  if (!a || !b) return { busyPercent: NaN, stealPercent: NaN };
  const busy = b.busy - a.busy;
  const idle = b.idle - a.idle;
  const steal = b.steal - a.steal;
  const all = busy + idle + steal;
  return all > 0 ? { busyPercent: (100 * busy) / all, stealPercent: (100 * steal) / all } : { busyPercent: NaN, stealPercent: NaN };
}

/** Yields to the event loop for `ms` (lets worker threads and timers run). */
export function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
