/**
 * A stress campaign: the options, and the drawing of run i's scenario and
 * schedule from the master seed. Run i is a pure function of (master seed, i,
 * campaign options): its seed is derived from (master, i) alone, every draw
 * comes from an Rng seeded with it, and nothing depends on which runs came
 * before, on the shard or on the number of jobs. So sharding, resuming and
 * parallel execution all see the same run i.
 *
 * The drawing aims at the race windows of reference linux-stop-paths.md
 * section 8 with a realistic mix: mostly single panics with kdump, some
 * reboots and power-offs, parallel panics within a few microseconds (R5), a
 * hard-locked CPU whose lockup detector panics after the winner (R5, R6, R12),
 * a reboot racing a panic (R7), IPI acceptance delayed to just before or after
 * a rung deadline (R1, R2, R3), wedged CPUs of every mode, workload CPUs, and
 * firmware quirks only when asked (--quirks).
 */
import { Rng } from '../machine/rng.js';
import { QUIRK_NAMES } from '../../firmware/quirks.js';
import { USEC_PER_SEC, UDELAY_LOOP_OVERHEAD_NS } from '../kernel/config.js';
import { parseScenario, type Scenario, type ScenarioInput } from '../scenarios/schema.js';
import type { EngineName } from '../machine/config.js';
import type { SchedulerSpec } from '../machine/scheduler.js';

/**
 * Version of the drawing below: a change to it changes what run i is, so resume refuses files of another version.
 * 2: a workload run's instruction budget grows with its workload CPUs.
 */
export const DRAW_VERSION = 2;

export type SchedulerChoice = 'random' | 'pct' | 'mixed';

/** Everything that decides what the runs of a campaign are (recorded in the JSONL header). */
export interface CampaignOptions {
  /** Master seed. */
  readonly seed: number;
  readonly cpus: { readonly min: number; readonly max: number };
  /** Kernel variants to draw from (each run uses one). */
  readonly kernels: readonly string[];
  /** Draw firmware quirks too. */
  readonly quirks: boolean;
  readonly engine: EngineName;
  /** Sim scheduler: random, PCT (depth drawn 2-4) or a mix (two thirds random). */
  readonly scheduler: SchedulerChoice;
  /** Modules defining user kernel variants, checkers or faults. */
  readonly modules: readonly string[];
  /** arm64 exception-exit code versions to draw from (kernel.entry); absent: the kernel's default. */
  readonly entry?: readonly string[];
  /** Every run with the Dovetail interrupt pipeline (kernel.irqPipeline; pseudo-NMI is then never drawn). */
  readonly irqPipeline?: boolean;
}

/** Which race a run is aimed at (recorded with each result, for statistics). */
export type RunShape =
  | 'panic' // one panic (kdump mostly)
  | 'parallel-panic' // 2-3 CPUs panic within a small window (R5, R6)
  | 'wedged-panic' // a hard-locked CPU panics some time after the winner (R5, R12)
  | 'reboot-vs-panic' // reboot or power-off racing a panic on a CPU with IRQs off (R7)
  | 'reboot'
  | 'poweroff'
  | 'entry-test'; // --entry or --irq-pipeline only: kernel threads preempted out of exceptions (issue 6)

export interface DrawnRun {
  readonly index: number;
  /** The run's seed: the sim scheduler's seed, and the root of every draw of its scenario. */
  readonly seed: number;
  readonly shape: RunShape;
  readonly scheduler: SchedulerSpec;
  readonly scenario: Scenario;
}

/** Guest-time budget of a drawn run: the whole stop ladder (1.12 s), panic_timeout (1 s) and a second ladder fit. */
export const CAMPAIGN_GUEST_TIME_MS = 4000;
/** Host watchdog of a drawn run (sim runs take 5-20 ms, workload runs up to ~1.5 s; a run that needs more is reported hung). */
export const CAMPAIGN_HOST_TIMEOUT_MS = 20_000;
/**
 * Instruction budget of a drawn run. The stop paths retire a few thousand
 * instructions per CPU; only CPUs that never wait (workloads, a CPU looping
 * after an oops) retire many, about one per guest ns. 2.5 M ends a livelocked
 * run after a few seconds rather than the default budget's minutes. A workload
 * run adds WORKLOAD_INSTRUCTIONS_PER_US for each workload CPU and guest
 * microsecond up to its first trigger, and half again, since those CPUs are
 * busy until the stop reaches them: with a fixed 2.5 M, runs of 13 to 16 CPUs
 * with 8 workload CPUs and a trigger at 300 us or later ran out before the
 * trigger (4 of 20,039 runs of a 2..16-CPU campaign, reported hung).
 */
export const CAMPAIGN_MAX_INSTRUCTIONS = 2_500_000;
/** What a workload CPU retires per guest microsecond in the sim engine (it never sleeps for long). */
export const WORKLOAD_INSTRUCTIONS_PER_US = 1000;

/**
 * Run i's seed: a splitmix32-style finaliser of (master, i), so neighbouring
 * indices and neighbouring master seeds give unrelated seeds.
 */
export function runSeed(master: number, index: number): number {
  let z = (Math.imul(master >>> 0, 0x9e3779b1) ^ Math.imul((index + 1) >>> 0, 0x85ebca77)) >>> 0;
  z = (z + Math.imul(index >>> 0, 0xc2b2ae3d)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

// ---------------------------------------------------------------------------
// Timing: where the section-8 windows are.

/**
 * Guest-time length of one rung's wait of `usec` iterations of udelay(1): the
 * model's stop_wait lasts usec x (1000 + loop overhead) ns (smp.ts).
 */
const rungUs = (usec: number): number => (usec * (1000 + UDELAY_LOOP_OVERHEAD_NS)) / 1000;

/**
 * Ends of the stop ladder's waits, in us after the requester starts
 * smp_send_stop: rung 1 (IPI, 1 s), rung 2 (pseudo-NMI, 10 ms) if enabled,
 * rung 3 (SDEI, 100 ms) if the firmware has SDEI; and the nominal 1 s, 1.01 s
 * and 1.11 s marks of the reference, since a kernel without the loop overhead
 * would end there.
 */
export function rungDeadlinesUs(pseudoNmi: boolean, sdei: boolean): number[] {
  const r1 = rungUs(USEC_PER_SEC);
  const r2 = pseudoNmi ? r1 + rungUs(10_000) : r1;
  const r3 = sdei ? r2 + rungUs(100_000) : r2;
  return [...new Set([1_000_000, 1_010_000, 1_110_000, r1, r2, r3])];
}

/** Log-uniform in [lo, hi]. */
function logUniform(rng: Rng, lo: number, hi: number): number {
  return lo * Math.exp(rng.float() * Math.log(hi / lo));
}

/** Rounds a time to 0.001 us (the trace's resolution), so the JSON stays short. */
const t3 = (us: number): number => Math.max(0, Math.round(us * 1000) / 1000);

/** A time close to a rung deadline: deadline +- a log-uniform 10 ns to 300 us. */
function nearDeadline(rng: Rng, deadlines: readonly number[]): number {
  const d = rng.pick(deadlines);
  const delta = logUniform(rng, 0.01, 300);
  return d + (rng.bool(0.6) ? -delta : delta);
}

/** A delay after the first trigger: half anywhere up to 1.2 s (log-uniform), half near a rung deadline. */
function lateDelay(rng: Rng, deadlines: readonly number[]): number {
  return rng.bool(0.5) ? logUniform(rng, 0.1, 1_200_000) : nearDeadline(rng, deadlines);
}

function weighted<T>(rng: Rng, table: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of table) total += w;
  let x = rng.float() * total;
  for (const [v, w] of table) {
    x -= w;
    if (x < 0) return v;
  }
  return table[table.length - 1]![0];
}

const SHAPES: readonly (readonly [RunShape, number])[] = [
  ['panic', 40],
  ['parallel-panic', 18],
  ['wedged-panic', 14],
  ['reboot-vs-panic', 12],
  ['reboot', 10],
  ['poweroff', 6],
];

type Fault = NonNullable<ScenarioInput['faults']>[number];
type Trigger = NonNullable<ScenarioInput['triggers']>[number];

function shuffled(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function drawScheduler(rng: Rng, choice: SchedulerChoice): SchedulerSpec {
  const pct = choice === 'pct' || (choice === 'mixed' && rng.bool(1 / 3));
  return pct ? { kind: 'pct', depth: rng.range(2, 4) } : { kind: 'random' };
}

/** Draws run `index` of the campaign. */
export function drawRun(o: CampaignOptions, index: number): DrawnRun {
  const seed = runSeed(o.seed, index);
  // The scenario's own stream (the scheduler uses `seed` itself, through its own Rng).
  const rng = new Rng(seed ^ 0x5ce7a210);
  const scheduler = drawScheduler(rng, o.scheduler);
  const n = rng.range(o.cpus.min, o.cpus.max);
  const variant = rng.pick(o.kernels);
  // The draw happens either way, so the pipeline option changes nothing else about run i.
  const pseudoNmi = rng.bool(0.5) && !o.irqPipeline; // the pipeline is not modelled with pseudo-NMI
  const sdei = rng.bool(0.85);
  const kdump = rng.bool(0.8);
  const hotplugCpu = rng.bool(0.9);
  const postNotifiers = rng.bool(0.15);
  const panicTimeout = weighted(rng, [[1, 60], [-1, 30], [0, 10]] as const);
  const quirks = o.quirks ? QUIRK_NAMES.filter(() => rng.bool(0.12)) : [];
  const deadlines = rungDeadlinesUs(pseudoNmi, sdei);

  let shape: RunShape = weighted(rng, SHAPES);
  if (n < 2 && shape !== 'reboot' && shape !== 'poweroff') shape = 'panic';
  // Entry-code campaigns also run the entry test (drawn only then: other campaigns draw what they always did).
  if ((o.entry?.length || o.irqPipeline) && n >= 3 && rng.bool(0.3)) shape = 'entry-test';
  let entryTest: ScenarioInput['entryTest'];
  const order = shuffled(rng, n); // CPUs in the order roles are handed out
  const T = t3(rng.range(20, 400) + rng.float()); // first trigger
  const triggers: Trigger[] = [];
  const faults: Fault[] = [];
  const busy = new Set<number>(); // CPUs that already have a role
  const take = (): number => {
    const c = order.find((x) => !busy.has(x))!;
    busy.add(c);
    return c;
  };

  switch (shape) {
    case 'panic':
      triggers.push({ kind: 'panic', cpu: take(), atUs: T });
      break;
    case 'reboot':
    case 'poweroff':
      triggers.push({ kind: shape, cpu: take(), atUs: T });
      break;
    case 'parallel-panic': {
      const k = n >= 3 && rng.bool(0.25) ? 3 : 2;
      triggers.push({ kind: 'panic', cpu: take(), atUs: T });
      for (let j = 1; j < k; j++) {
        const gap = rng.bool(0.2) ? 0 : logUniform(rng, 0.05, 50);
        triggers.push({ kind: 'panic', cpu: take(), atUs: t3(T + gap) });
      }
      break;
    }
    case 'wedged-panic': {
      triggers.push({ kind: 'panic', cpu: take(), atUs: T });
      const q = take();
      const mode = weighted(rng, [['irqs-off', 60], ['daif-masked', 30], ['sdei-masked', 10]] as const);
      faults.push({ cpu: q, wedge: mode, atUs: 0 });
      triggers.push({ kind: 'panic', cpu: q, atUs: t3(T + lateDelay(rng, deadlines)) });
      break;
    }
    case 'entry-test': {
      // reference 6.6-6.9: kernel threads on one CPU keep taking synchronous exceptions while another CPU keeps
      // setting their need_resched; sometimes a breakpoint, watchpoint or SError lands on them; then the machine stops.
      const tc = take();
      const wk = take();
      entryTest = {
        cpus: [tc], tasks: rng.range(2, 4), wakers: [wk], wakeIntervalUs: t3(logUniform(rng, 1, 10)),
        fault: rng.pick(['uaccess', 'uaccess', 'brk', 'none'] as const),
      };
      if (rng.bool(0.3)) faults.push({ cpu: tc, inject: rng.pick(['breakpoint', 'watchpoint', 'serror'] as const), atUs: t3(T * rng.float()) });
      triggers.push({ kind: weighted(rng, [['poweroff', 40], ['panic', 40], ['reboot', 20]] as const), cpu: take(), atUs: T });
      break;
    }
    case 'reboot-vs-panic': {
      triggers.push({ kind: rng.bool(0.8) ? 'reboot' : 'poweroff', cpu: take(), atUs: T });
      const b = take();
      const at = t3(T + lateDelay(rng, deadlines));
      if (rng.bool(0.7)) faults.push({ cpu: b, wedge: rng.bool(0.8) ? 'irqs-off' : 'daif-masked', atUs: 0 });
      else faults.push({ cpu: b, ipiDelayUs: t3(at + logUniform(rng, 1, 2_000_000) - (T - 5)), atUs: t3(T - 5) });
      triggers.push({ kind: 'panic', cpu: b, atUs: at });
      break;
    }
  }

  // Background faults on the CPUs without a role.
  // Workload CPUs are drawn only where every CPU the stop reaches is powered
  // off (a crash stop with CONFIG_HOTPLUG_CPU, no firmware quirk): a workload
  // CPU parked in cpu_park_loop keeps its tick PPI pending, so its WFI
  // completes at once and the sim engine executes the park loop instruction by
  // instruction for the rest of the run (a model performance bug, since fixed:
  // cpus/core.ts wakeDeadline ignores a timer deadline already past; the rule
  // stays so that run i of a campaign stays what it was). Workload runs are
  // also the costly ones (their CPUs never idle), so they are a minority.
  const crashStopOff = kdump && hotplugCpu && quirks.length === 0 && (shape === 'panic' || shape === 'parallel-panic' || shape === 'wedged-panic');
  const workloadRun = crashStopOff && rng.bool(0.3);
  const workload: number[] = [];
  for (const c of order) {
    // An entry test keeps its CPUs busy: a CPU that holds off an IPI for a second would make the sim engine
    // execute a second of entry test (on_each_cpu from a reboot notifier waits for it), so none are drawn there.
    if (busy.has(c) || shape === 'entry-test') continue;
    const roll = rng.float();
    if (roll < 0.25) {
      // A CPU can be hot-unplugged only with CONFIG_HOTPLUG_CPU.
      const mode = weighted(rng, [
        ['irqs-off', 30], ['daif-masked', 20], ['sdei-masked', 10], ['in-firmware-short', 15], ['in-firmware', 5], ['offline', hotplugCpu ? 20 : 0],
      ] as const);
      const atUs = rng.bool(0.8) ? 0 : t3(T + rng.range(-50, 50) + rng.float());
      if (mode === 'in-firmware-short') {
        const durationUs = t3(rng.bool(0.5) ? logUniform(rng, 10, 1_200_000) : nearDeadline(rng, deadlines) + T - atUs);
        faults.push({ cpu: c, wedge: 'in-firmware', atUs, durationUs });
      } else {
        faults.push({ cpu: c, wedge: mode, atUs });
      }
    } else if (roll < 0.4) {
      // IRQs off for a while around the trigger: the IPI is accepted late, often just before or after a rung deadline.
      const atUs = t3(Math.max(0, T - rng.range(0, 50)));
      const end = rng.bool(0.6) ? T + nearDeadline(rng, deadlines) : atUs + logUniform(rng, 1, 2_000_000);
      faults.push({ cpu: c, ipiDelayUs: t3(Math.max(0.1, end - atUs)), atUs });
    } else if (workloadRun && rng.bool(0.6)) {
      workload.push(c);
    }
  }

  // Drawn last: a campaign without --entry draws exactly what it did before the option existed.
  const entry = o.entry?.length ? rng.pick(o.entry) : undefined;
  const input: ScenarioInput = {
    name: `stress ${o.seed}#${index} ${shape}`,
    cpus: n,
    kernel: {
      variant, pseudoNmi, kdump, hotplugCpu, crashKexecPostNotifiers: postNotifiers, panicTimeout, sdeiDriver: sdei,
      ...(entry ? { entry } : {}), ...(o.irqPipeline ? { irqPipeline: true } : {}),
    },
    firmware: { sdei, quirks },
    workload: workload.sort((a, b) => a - b),
    faults,
    triggers,
    ...(entryTest ? { entryTest } : {}),
    limits: {
      guestTimeMs: CAMPAIGN_GUEST_TIME_MS,
      // The entry test retires millions of instructions in its few hundred microseconds.
      maxInstructions: shape === 'entry-test' ? 8 * CAMPAIGN_MAX_INSTRUCTIONS
        : CAMPAIGN_MAX_INSTRUCTIONS + Math.ceil(1.5 * workload.length * T * WORKLOAD_INSTRUCTIONS_PER_US),
      hostTimeoutMs: CAMPAIGN_HOST_TIMEOUT_MS,
    },
  };
  return { index, seed, shape, scheduler, scenario: parseScenario(input, `campaign run ${index}`) };
}
