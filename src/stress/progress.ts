/**
 * The campaign's progress display (cli-progress): runs done, runs/s and the
 * failures so far by violation id. On a terminal it is a live bar on stderr;
 * elsewhere (CI logs, redirected output) a plain line every 10 s.
 */
import { SingleBar } from 'cli-progress';

export interface ProgressState {
  readonly done: number;
  /** Runs the campaign will do (undefined: a --duration campaign). */
  readonly total: number | undefined;
  readonly durationMs: number | undefined;
  readonly elapsedMs: number;
  /** Runs with each violation id (and `outcome:fault` / `outcome:hung`). */
  readonly failures: ReadonlyMap<string, number>;
}

const SHORT: Record<string, string> = {
  'null-deref-in-stop-path': 'null-deref',
  'crash-note-in-stop-path': 'note-in-stop',
  'crash-note-missing': 'note-missing',
  'panic-cpu-stopped': 'panic-cpu-stopped',
  'cpu-off-in-sdei-event': 'cpu-off-in-sdei',
  'multiple-panic-owners': 'multi-panic',
  'not-stopped': 'not-stopped',
  'ran-after-reset': 'ran-after-reset',
};

export function failureText(failures: ReadonlyMap<string, number>, short = true): string {
  if (failures.size === 0) return 'no failures';
  return [...failures.entries()].sort((a, b) => b[1] - a[1]).map(([id, n]) => `${short ? (SHORT[id] ?? id) : id} ${n}`).join(', ');
}

export class Progress {
  private bar: SingleBar | null = null;
  private readonly scale = 1000;

  constructor(private readonly enabled: boolean) {}

  start(s: ProgressState): void {
    if (!this.enabled) return;
    const tty = Boolean(process.stderr.isTTY);
    this.bar = new SingleBar({
      format: '{bar} {runs} runs | {rate} runs/s | {failures} | {elapsed}',
      stream: process.stderr,
      hideCursor: tty ? true : null,
      clearOnComplete: false,
      barsize: 24,
      fps: 5,
      noTTYOutput: !tty,
      notTTYSchedule: 10_000,
    });
    this.bar.start(this.scale, 0, this.payload(s));
  }

  update(s: ProgressState): void {
    if (!this.bar) return;
    const frac = s.total !== undefined ? (s.total === 0 ? 1 : s.done / s.total) : s.durationMs ? s.elapsedMs / s.durationMs : 0;
    this.bar.update(Math.min(this.scale, Math.round(frac * this.scale)), this.payload(s));
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }

  private payload(s: ProgressState): Record<string, string> {
    const rate = s.elapsedMs > 0 ? (s.done * 1000) / s.elapsedMs : 0;
    const sec = Math.round(s.elapsedMs / 1000);
    return {
      runs: s.total !== undefined ? `${s.done}/${s.total}` : String(s.done),
      rate: rate.toFixed(1),
      failures: failureText(s.failures),
      elapsed: `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}${s.durationMs ? `/${Math.round(s.durationMs / 1000)}s` : ''}`,
    };
  }
}
