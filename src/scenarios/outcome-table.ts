/**
 * The outcome table (issue 4): for a panic on CPU 0 with CPU 1 wedged, every
 * combination of wedge mode x pseudo-NMI x kernel variant x kdump, which rung
 * stops the wedged CPU and whether its registers are captured, derived from
 * reference/linux-stop-paths.md (sections 1-3, 5) and
 * firmware-and-gic.md (sections 3.6, 4.8, 5.3); then rows for parallel panics
 * and for a reboot racing a panic, whose cells allow the set of outcomes the
 * timing decides between. The tests run every row; README.md shows it.
 */
import type { ScenarioInput } from './schema.js';
import { preemptDaMasked, INJECTIONS } from './entry-presets.js';

export type Rung = 'ipi' | 'nmi' | 'sdei' | 'self' | 'none';

/**
 * [wedge, pseudoNmi, variant, kdump, stopped by, crash-note function (null: no note),
 * final state of the wedged CPU, named in "failed to stop"].
 * Final state: a stopped CPU ends parked, or off after PSCI CPU_OFF (the IPI and
 * pseudo-NMI crash paths with CONFIG_HOTPLUG_CPU); the SDEI path parks inside the
 * never-completed event. Because offline is not quiescent (R11), a run may end
 * while a stopped CPU is still inside its stop path: the tests accept that.
 */
export type WedgeRow = readonly [
  wedge: 'irqs-off' | 'daif-masked' | 'sdei-masked' | 'in-firmware' | 'offline',
  pseudoNmi: boolean,
  variant: 'base' | 'sdei-v3' | 'sdei-v4' | 'final',
  kdump: boolean,
  stoppedBy: Rung,
  note: string | null,
  state: 'parked' | 'off' | 'running' | 'in-firmware',
  failed: boolean,
];

export const WEDGE_ROWS: readonly WedgeRow[] = [
  // wedge        pNMI   variant    kdump  stopped  note                 state      failed
  ['irqs-off', false, 'base', false, 'none', null, 'running', true],
  ['irqs-off', false, 'base', true, 'none', null, 'running', true],
  ['irqs-off', false, 'sdei-v3', false, 'sdei', null, 'parked', false],
  ['irqs-off', false, 'sdei-v3', true, 'sdei', 'lkdtm_HARDLOCKUP', 'parked', false],
  ['irqs-off', false, 'sdei-v4', false, 'sdei', null, 'parked', false],
  ['irqs-off', false, 'sdei-v4', true, 'sdei', 'lkdtm_HARDLOCKUP', 'parked', false],
  ['irqs-off', false, 'final', false, 'sdei', null, 'parked', false],
  ['irqs-off', false, 'final', true, 'sdei', 'lkdtm_HARDLOCKUP', 'parked', false],
  ['irqs-off', true, 'base', false, 'nmi', null, 'parked', false],
  ['irqs-off', true, 'base', true, 'nmi', 'lkdtm_HARDLOCKUP', 'off', false],
  ['irqs-off', true, 'sdei-v3', false, 'nmi', null, 'parked', false],
  ['irqs-off', true, 'sdei-v3', true, 'nmi', 'lkdtm_HARDLOCKUP', 'off', false],
  ['irqs-off', true, 'sdei-v4', false, 'nmi', null, 'parked', false],
  ['irqs-off', true, 'sdei-v4', true, 'nmi', 'lkdtm_HARDLOCKUP', 'off', false],
  ['irqs-off', true, 'final', false, 'nmi', null, 'parked', false],
  ['irqs-off', true, 'final', true, 'nmi', 'lkdtm_HARDLOCKUP', 'off', false],
  ['daif-masked', false, 'base', false, 'none', null, 'running', true],
  ['daif-masked', false, 'base', true, 'none', null, 'running', true],
  ['daif-masked', false, 'sdei-v3', false, 'sdei', null, 'parked', false],
  ['daif-masked', false, 'sdei-v3', true, 'sdei', 'wedge_daif_masked', 'parked', false],
  ['daif-masked', false, 'sdei-v4', false, 'sdei', null, 'parked', false],
  ['daif-masked', false, 'sdei-v4', true, 'sdei', 'wedge_daif_masked', 'parked', false],
  ['daif-masked', false, 'final', false, 'sdei', null, 'parked', false],
  ['daif-masked', false, 'final', true, 'sdei', 'wedge_daif_masked', 'parked', false],
  ['daif-masked', true, 'base', false, 'none', null, 'running', true],
  ['daif-masked', true, 'base', true, 'none', null, 'running', true],
  ['daif-masked', true, 'sdei-v3', false, 'sdei', null, 'parked', false],
  ['daif-masked', true, 'sdei-v3', true, 'sdei', 'wedge_daif_masked', 'parked', false],
  ['daif-masked', true, 'sdei-v4', false, 'sdei', null, 'parked', false],
  ['daif-masked', true, 'sdei-v4', true, 'sdei', 'wedge_daif_masked', 'parked', false],
  ['daif-masked', true, 'final', false, 'sdei', null, 'parked', false],
  ['daif-masked', true, 'final', true, 'sdei', 'wedge_daif_masked', 'parked', false],
  ['sdei-masked', false, 'base', false, 'none', null, 'running', true],
  ['sdei-masked', false, 'base', true, 'none', null, 'running', true],
  ['sdei-masked', false, 'sdei-v3', false, 'none', null, 'running', true],
  ['sdei-masked', false, 'sdei-v3', true, 'none', null, 'running', true],
  ['sdei-masked', false, 'sdei-v4', false, 'none', null, 'running', true],
  ['sdei-masked', false, 'sdei-v4', true, 'none', null, 'running', true],
  ['sdei-masked', false, 'final', false, 'none', null, 'running', true],
  ['sdei-masked', false, 'final', true, 'none', null, 'running', true],
  ['sdei-masked', true, 'base', false, 'none', null, 'running', true],
  ['sdei-masked', true, 'base', true, 'none', null, 'running', true],
  ['sdei-masked', true, 'sdei-v3', false, 'none', null, 'running', true],
  ['sdei-masked', true, 'sdei-v3', true, 'none', null, 'running', true],
  ['sdei-masked', true, 'sdei-v4', false, 'none', null, 'running', true],
  ['sdei-masked', true, 'sdei-v4', true, 'none', null, 'running', true],
  ['sdei-masked', true, 'final', false, 'none', null, 'running', true],
  ['sdei-masked', true, 'final', true, 'none', null, 'running', true],
  ['in-firmware', false, 'base', false, 'none', null, 'in-firmware', true],
  ['in-firmware', false, 'base', true, 'none', null, 'in-firmware', true],
  ['in-firmware', false, 'sdei-v3', false, 'none', null, 'in-firmware', true],
  ['in-firmware', false, 'sdei-v3', true, 'none', null, 'in-firmware', true],
  ['in-firmware', false, 'sdei-v4', false, 'none', null, 'in-firmware', true],
  ['in-firmware', false, 'sdei-v4', true, 'none', null, 'in-firmware', true],
  ['in-firmware', false, 'final', false, 'none', null, 'in-firmware', true],
  ['in-firmware', false, 'final', true, 'none', null, 'in-firmware', true],
  ['in-firmware', true, 'base', false, 'none', null, 'in-firmware', true],
  ['in-firmware', true, 'base', true, 'none', null, 'in-firmware', true],
  ['in-firmware', true, 'sdei-v3', false, 'none', null, 'in-firmware', true],
  ['in-firmware', true, 'sdei-v3', true, 'none', null, 'in-firmware', true],
  ['in-firmware', true, 'sdei-v4', false, 'none', null, 'in-firmware', true],
  ['in-firmware', true, 'sdei-v4', true, 'none', null, 'in-firmware', true],
  ['in-firmware', true, 'final', false, 'none', null, 'in-firmware', true],
  ['in-firmware', true, 'final', true, 'none', null, 'in-firmware', true],
  ['offline', false, 'base', false, 'none', null, 'off', false],
  ['offline', false, 'base', true, 'none', null, 'off', false],
  ['offline', false, 'sdei-v3', false, 'none', null, 'off', false],
  ['offline', false, 'sdei-v3', true, 'none', null, 'off', false],
  ['offline', false, 'sdei-v4', false, 'none', null, 'off', false],
  ['offline', false, 'sdei-v4', true, 'none', null, 'off', false],
  ['offline', false, 'final', false, 'none', null, 'off', false],
  ['offline', false, 'final', true, 'none', null, 'off', false],
  ['offline', true, 'base', false, 'none', null, 'off', false],
  ['offline', true, 'base', true, 'none', null, 'off', false],
  ['offline', true, 'sdei-v3', false, 'none', null, 'off', false],
  ['offline', true, 'sdei-v3', true, 'none', null, 'off', false],
  ['offline', true, 'sdei-v4', false, 'none', null, 'off', false],
  ['offline', true, 'sdei-v4', true, 'none', null, 'off', false],
  ['offline', true, 'final', false, 'none', null, 'off', false],
  ['offline', true, 'final', true, 'none', null, 'off', false],
];

export function wedgeScenario(r: WedgeRow): ScenarioInput {
  const [wedge, pseudoNmi, variant, kdump] = r;
  return {
    name: `table: ${wedge}${pseudoNmi ? ' +pNMI' : ''} ${variant}${kdump ? ' +kdump' : ''}`,
    cpus: 4,
    kernel: { variant, pseudoNmi, kdump },
    faults: [{ cpu: 1, wedge }],
    triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }],
  };
}

export interface RaceRow {
  readonly name: string;
  /** Reference race window. */
  readonly window: string;
  readonly scenario: ScenarioInput;
  readonly outcomes: readonly string[];
  /** Violation ids the row must show in every run (all of them). */
  readonly mustFind: readonly string[];
  /** Violation ids allowed (timing decides); anything else fails the row. */
  readonly mayFind: readonly string[];
  /** Accepted stop rung of each listed CPU. */
  readonly stoppedBy: Readonly<Record<number, readonly Rung[]>>;
  readonly explain: string;
  /**
   * What holds in the threads engine under every interleaving, where it is
   * less: there guest time follows the host clock, so triggers a few hundred
   * microseconds apart may fire in either order.
   */
  readonly threads?: Partial<Pick<RaceRow, 'outcomes' | 'mustFind' | 'mayFind' | 'stoppedBy'>>;
}

/** Either CPU may win panic_cpu in the threads engine; the other self-stops (or takes the IPI). */
const eitherWins = (mayFind: readonly string[]): RaceRow['threads'] => ({
  mustFind: [],
  mayFind,
  // The CPU whose trigger has not fired yet is an ordinary target: CPU 0 idles (IRQs on), CPU 1 spins with IRQs off.
  stoppedBy: { 0: ['none', 'self', 'ipi'], 1: ['none', 'self'] },
});

const lateLoser = (variant: string, kdump = true): ScenarioInput => ({
  cpus: 4,
  kernel: { variant, kdump },
  faults: [{ cpu: 1, wedge: 'irqs-off' }],
  triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }, { kind: 'panic', cpu: 1, atUs: 300 }],
});

const together = (variant: string): ScenarioInput => ({
  cpus: 4,
  kernel: { variant, kdump: true },
  triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }, { kind: 'panic', cpu: 1, atUs: 100 }],
});

export const RACE_ROWS: readonly RaceRow[] = [
  {
    name: 'parallel panic, late loser, sdei-v3', window: 'R5', scenario: lateLoser('sdei-v3'),
    outcomes: ['kexec'], mustFind: ['null-deref-in-stop-path'], mayFind: [],
    stoppedBy: { 1: ['self'] },
    explain: 'the loser self-stops after crash_stop is set: crash_save_cpu(NULL) faults',
    threads: eitherWins(['null-deref-in-stop-path']),
  },
  {
    name: 'parallel panic, late loser, sdei-v4', window: 'R5', scenario: lateLoser('sdei-v4'),
    outcomes: ['kexec'], mustFind: [], mayFind: [], stoppedBy: { 1: ['self'] }, threads: eitherWins([]),
    explain: '`crash && regs`: the loser parks with no note',
  },
  {
    name: 'parallel panic, late loser, final', window: 'R5', scenario: lateLoser('final'),
    outcomes: ['kexec'], mustFind: [], mayFind: [], stoppedBy: { 1: ['self'] }, threads: eitherWins([]),
    explain: 'as sdei-v4',
  },
  {
    name: 'parallel panic, late loser, base', window: 'R5', scenario: lateLoser('base'),
    outcomes: ['kexec'], mustFind: [], mayFind: [], stoppedBy: { 1: ['self'] }, threads: eitherWins([]),
    explain: 'local_cpu_stop: offline, no crash save',
  },
  {
    name: 'parallel panic, late loser, sdei-v3 without kdump', window: 'R5', scenario: lateLoser('sdei-v3', false),
    outcomes: ['reset'], mustFind: [], mayFind: [], stoppedBy: { 1: ['self'] }, threads: eitherWins([]),
    explain: 'crash_stop is never set: no crash save, no fault',
  },
  {
    name: 'parallel panics together, sdei-v3', window: 'R5', scenario: together('sdei-v3'),
    outcomes: ['kexec'], mustFind: [], mayFind: ['null-deref-in-stop-path'],
    stoppedBy: { 0: ['none', 'self', 'ipi'], 1: ['none', 'self', 'ipi'] },
    explain: 'whoever loses self-stops; it faults only if it gets there after the winner set crash_stop',
  },
  {
    name: 'parallel panics together, final', window: 'R5', scenario: together('final'),
    outcomes: ['kexec'], mustFind: [], mayFind: [],
    stoppedBy: { 0: ['none', 'self', 'ipi'], 1: ['none', 'self', 'ipi'] },
    explain: 'exactly one owner; the loser self-stops, or is stopped by the IPI if it had not yet masked',
  },
  {
    name: 'reboot racing a panic, pseudo-NMI', window: 'R7',
    scenario: {
      cpus: 3, kernel: { variant: 'final', kdump: true, pseudoNmi: true, sdeiDriver: false }, firmware: { sdei: false },
      faults: [{ cpu: 1, wedge: 'irqs-off' }],
      triggers: [{ kind: 'reboot', cpu: 0, atUs: 100 }, { kind: 'panic', cpu: 1, atUs: 1010099.9 }],
    },
    outcomes: ['reset', 'kexec'], mustFind: [], mayFind: ['panic-cpu-stopped', 'crash-note-in-stop-path', 'not-stopped'],
    stoppedBy: { 1: ['nmi', 'none'] },
    explain: 'the panicking CPU is stopped in the middle of kexec by the reboot\'s NMI rung (panic-cpu-stopped), or gets to kexec first while the reboot CPU is still in its one-shot stop (not-stopped)',
  },
  {
    name: 'reboot racing a panic, no pseudo-NMI', window: 'R7',
    scenario: {
      cpus: 3, kernel: { variant: 'final', kdump: true, sdeiDriver: false }, firmware: { sdei: false },
      faults: [{ cpu: 1, wedge: 'irqs-off' }],
      triggers: [{ kind: 'reboot', cpu: 0, atUs: 100 }, { kind: 'panic', cpu: 1, atUs: 500 }],
    },
    outcomes: ['kexec'], mustFind: ['not-stopped'], mayFind: [],
    stoppedBy: { 1: ['none'] },
    threads: { outcomes: ['kexec', 'reset'], mustFind: [], mayFind: ['not-stopped', 'panic-cpu-stopped', 'crash-note-in-stop-path'], stoppedBy: { 1: ['none', 'nmi', 'ipi'] } },
    explain: 'the crash stop returns at once (stop_in_progress is one-shot); kexec starts with the rebooting CPU still running its rung-1 wait',
  },
];

// =====================================================================
// Interrupt pipeline (issue 6): the wedge rows with kernel.irqPipeline
// =====================================================================

/**
 * The wedge table in interrupt-pipeline mode (Dovetail; pseudo-NMI off):
 * local_irq_disable() only stalls the in-band stage, and the stop IPI is
 * out of band, so a CPU spinning with "IRQs off" is stopped by rung 1 even
 * in the base kernel. Masking that is real in pipeline mode (DAIF, SDEI,
 * EL3, offline) behaves as without the pipeline. Same row format as
 * WEDGE_ROWS (pseudoNmi is always false here).
 */
export const PIPELINE_ROWS: readonly WedgeRow[] = [
  // wedge        pNMI   variant  kdump  stopped  note                 state      failed
  ['irqs-off', false, 'base', false, 'ipi', null, 'parked', false],
  ['irqs-off', false, 'base', true, 'ipi', 'lkdtm_HARDLOCKUP', 'off', false],
  ['irqs-off', false, 'final', false, 'ipi', null, 'parked', false],
  ['irqs-off', false, 'final', true, 'ipi', 'lkdtm_HARDLOCKUP', 'off', false],
  ['daif-masked', false, 'base', false, 'none', null, 'running', true],
  ['daif-masked', false, 'base', true, 'none', null, 'running', true],
  ['daif-masked', false, 'final', false, 'sdei', null, 'parked', false],
  ['daif-masked', false, 'final', true, 'sdei', 'wedge_daif_masked', 'parked', false],
  ['sdei-masked', false, 'base', true, 'none', null, 'running', true],
  ['sdei-masked', false, 'final', true, 'none', null, 'running', true],
  ['in-firmware', false, 'base', true, 'none', null, 'in-firmware', true],
  ['in-firmware', false, 'final', true, 'none', null, 'in-firmware', true],
  ['offline', false, 'base', true, 'none', null, 'off', false],
  ['offline', false, 'final', true, 'none', null, 'off', false],
];

export function pipelineScenario(r: WedgeRow): ScenarioInput {
  const s = wedgeScenario(r);
  return { ...s, name: `table: pipeline ${s.name!.slice('table: '.length)}`, kernel: { ...s.kernel, irqPipeline: true } };
}

// =====================================================================
// Entry variants (issue 6): the preempt-da-masked reproduction
// =====================================================================

/**
 * One row per entry variant x pseudo-NMI on the reproduction of reference
 * 6.9 (preset preempt-da-masked: kernel threads faulting on user addresses
 * while another CPU keeps setting need_resched), plus the injection and BRK
 * forms. `syncPreempt`: whether a synchronous exception's exit can preempt
 * ('never' holds in every run; 'yes' was seen in every sim run of the test).
 */
export interface EntryRow {
  readonly name: string;
  readonly entry: 'generic-preempt' | 'own-irq-preemption' | 'split-exit';
  readonly pseudoNmi: boolean;
  readonly scenario: ScenarioInput;
  readonly syncPreempt: 'never' | 'yes';
  /** Violations every sim run shows. */
  readonly mustFind: readonly string[];
  /** Violations allowed (timing decides). */
  readonly mayFind: readonly string[];
  /** In the threads engine guest time follows the host clock and far fewer faults happen: what holds there. */
  readonly threads: { readonly mustFind: readonly string[]; readonly mayFind: readonly string[] };
  readonly section: string;
  readonly explain: string;
}

const BUG = ['preempt-with-da-masked'];
const LOST = ['lost-debug-exception', 'lost-serror'];

function entryRow(entry: EntryRow['entry'], pseudoNmi: boolean, syncPreempt: EntryRow['syncPreempt'], bug: boolean, section: string, explain: string): EntryRow {
  return {
    name: `preempt-da-masked, ${entry}${pseudoNmi ? ', pseudo-NMI' : ''}`, entry, pseudoNmi, scenario: preemptDaMasked(entry, pseudoNmi),
    syncPreempt, mustFind: bug ? BUG : [], mayFind: [], threads: { mustFind: [], mayFind: bug ? BUG : [] }, section, explain,
  };
}

export const ENTRY_ROWS: readonly EntryRow[] = [
  entryRow('generic-preempt', false, 'yes', true, '6.6',
    'the data abort\'s exit preempts after local_daif_mask(): preempt_schedule_irq runs with DAIF = 0b1111 and the next task runs with D and A set'),
  entryRow('generic-preempt', true, 'never', false, '6.6',
    'arch_irqentry_exit_need_resched() sees DAIF != 0 (pseudo-NMI): no preemption from synchronous exceptions, the bug is masked'),
  entryRow('own-irq-preemption', false, 'never', false, '6.7', 'only __el1_irq preempts, with DAIF = DAIF_PROCCTX_NOIRQ (I and F only)'),
  entryRow('own-irq-preemption', true, 'never', false, '6.7', 'only __el1_irq preempts, with PMR masking and DAIF clear'),
  entryRow('split-exit', false, 'yes', false, '6.8', 'synchronous exceptions preempt with only I and F masked; D and A as inherited (clear)'),
  entryRow('split-exit', true, 'yes', false, '6.8', 'preemption with PMR = 0xc0 and DAIF clear, so arch_irqentry_exit_need_resched() allows it'),
  {
    name: 'preempt-da-masked with injections, generic-preempt', entry: 'generic-preempt', pseudoNmi: false,
    scenario: preemptDaMasked('generic-preempt', false, { faults: INJECTIONS }), syncPreempt: 'yes',
    mustFind: [...BUG, 'lost-debug-exception'], mayFind: ['lost-serror'], threads: { mustFind: [], mayFind: [...BUG, ...LOST] }, section: '6.9',
    explain: 'a breakpoint and a watchpoint on what the threads run are ignored while D is wrongly set; the SError waits for A to clear',
  },
  {
    name: 'preempt-da-masked with injections, split-exit', entry: 'split-exit', pseudoNmi: false,
    scenario: preemptDaMasked('split-exit', false, { faults: INJECTIONS }), syncPreempt: 'yes',
    mustFind: [], mayFind: [], threads: { mustFind: [], mayFind: [] }, section: '6.9',
    explain: 'every breakpoint, watchpoint and the SError are taken at once',
  },
  {
    name: 'preempt-da-masked with BRK, generic-preempt', entry: 'generic-preempt', pseudoNmi: false,
    scenario: preemptDaMasked('generic-preempt', false, { entryTest: { cpus: [1], wakers: [2], fault: 'brk' } }), syncPreempt: 'never',
    mustFind: [], mayFind: [], threads: { mustFind: [], mayFind: [] }, section: '6.1',
    explain: 'debug exceptions go through arm64_enter/exit_el1_dbg, never irqentry_exit: no preemption, no bug',
  },
];

const RUNG_TEXT: Record<Rung, string> = { ipi: 'rung 1 (IPI)', nmi: 'rung 2 (pseudo-NMI)', sdei: 'rung 3 (SDEI)', self: 'self-stop', none: 'not stopped' };

/** The table as Markdown (README.md embeds exactly this text). */
export function outcomeTableMarkdown(): string {
  const out: string[] = [];
  out.push('| wedge on CPU 1 | pseudo-NMI | variant | kdump | CPU 1 stopped by | CPU 1 registers captured | CPU 1 ends | "failed to stop" |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of WEDGE_ROWS) {
    const [wedge, pnmi, variant, kdump, by, note, state, failed] = r;
    out.push(`| ${wedge} | ${pnmi ? 'on' : 'off'} | ${variant} | ${kdump ? 'yes' : 'no'} | ${RUNG_TEXT[by]} | ${note ? `yes (pc in ${note})` : 'no'} | ${state} | ${failed ? 'CPU 1' : '-'} |`);
  }
  out.push('');
  out.push('| race | window | outcome | violations | explanation |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const r of RACE_ROWS) {
    const v = [...r.mustFind.map((x) => `**${x}**`), ...r.mayFind.map((x) => `${x}?`)].join(', ') || 'none';
    out.push(`| ${r.name} | ${r.window} | ${r.outcomes.join(' or ')} | ${v} | ${r.explain} |`);
  }
  out.push('');
  out.push(...entryTableMarkdown());
  return out.join('\n');
}

/** The issue-6 tables: the wedge rows in interrupt-pipeline mode, and the entry variants on the preempt-da-masked reproduction. */
export function entryTableMarkdown(): string[] {
  const out: string[] = [];
  out.push('| wedge on CPU 1 (interrupt pipeline) | variant | kdump | CPU 1 stopped by | CPU 1 registers captured | CPU 1 ends | "failed to stop" |');
  out.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of PIPELINE_ROWS) {
    const [wedge, , variant, kdump, by, note, state, failed] = r;
    out.push(`| ${wedge} | ${variant} | ${kdump ? 'yes' : 'no'} | ${RUNG_TEXT[by]} | ${note ? `yes (pc in ${note})` : 'no'} | ${state} | ${failed ? 'CPU 1' : '-'} |`);
  }
  out.push('');
  out.push('| entry run | reference | pseudo-NMI | preempts from a synchronous exception | violations | explanation |');
  out.push('| --- | --- | --- | --- | --- | --- |');
  for (const r of ENTRY_ROWS) {
    const v = [...r.mustFind.map((x) => `**${x}**`), ...r.mayFind.map((x) => `${x}?`)].join(', ') || 'none';
    out.push(`| ${r.name} | ${r.section} | ${r.pseudoNmi ? 'on' : 'off'} | ${r.syncPreempt} | ${v} | ${r.explain} |`);
  }
  return out;
}
