/**
 * printk (kernel/printk/printk.c), reduced to what the checkers and the
 * result need: every message becomes a record in a log ring in guest memory
 * (sequence, level, CPU, guest time, text), written with ordinary stores by
 * the CPU that prints, so the log is part of the machine state and its order
 * is the order of the atomic reservation of the record.
 */
import type { Guest } from '../../cpus/isa.js';
import { GV, LOGREC, LOG_TEXT_MAX } from './layout.js';
import { T } from '../trace/events.js';
import type { K } from './kernel.js';

export const KERN_EMERG = 0;
export const KERN_ALERT = 1;
export const KERN_CRIT = 2;
export const KERN_ERR = 3;
export const KERN_WARNING = 4;
export const KERN_NOTICE = 5;
export const KERN_INFO = 6;
export const KERN_DEBUG = 7;

export function* printk(k: K, level: number, text: string): Guest<void> {
  const c = k.c;
  const idx = yield c.ldadd(k.L.g(GV.log_head), 1);
  const rec = k.L.logRecord(idx);
  // Latin-1, one byte per UTF-16 unit (its low byte), as Buffer.from(text, 'latin1') encodes; read
  // from the string directly: a Buffer per message was 1% of a sim run.
  const len = Math.min(text.length, LOG_TEXT_MAX);
  const byte = (i: number): number => (i < len ? text.charCodeAt(i) & 0xff : 0);
  yield c.str(rec + LOGREC.seq, 0); // invalidate while writing
  yield c.str(rec + LOGREC.level, level);
  yield c.str(rec + LOGREC.cpu, k.cpu);
  yield c.str(rec + LOGREC.len, len);
  yield c.str64(rec + LOGREC.time, yield c.now());
  for (let i = 0; i < len; i += 4) {
    const w = byte(i) | (byte(i + 1) << 8) | (byte(i + 2) << 16) | (byte(i + 3) << 24);
    yield c.str(rec + LOGREC.text + i, w);
  }
  yield c.str(rec + LOGREC.seq, idx + 1); // publishes the record
  c.trace?.emit(T.LOG, idx, level);
}

export const pr_emerg = (k: K, t: string): Guest<void> => printk(k, KERN_EMERG, t);
export const pr_crit = (k: K, t: string): Guest<void> => printk(k, KERN_CRIT, t);
export const pr_err = (k: K, t: string): Guest<void> => printk(k, KERN_ERR, t);
export const pr_warn = (k: K, t: string): Guest<void> => printk(k, KERN_WARNING, t);
export const pr_info = (k: K, t: string): Guest<void> => printk(k, KERN_INFO, t);

/** %*pbl: a CPU list as ranges, e.g. `1-3,5` (lib/vsprintf.c bitmap_list_string). */
export function cpulistString(cpus: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < cpus.length) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    out.push(j === i ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** Parses a %*pbl CPU list back (for the checkers). */
export function parseCpulist(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map((x) => parseInt(x, 10));
    for (let i = a!; i <= (b ?? a)!; i++) out.push(i);
  }
  return out;
}
