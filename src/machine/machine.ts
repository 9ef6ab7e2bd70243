/**
 * Machine: runs a guest program on N CPUs (1 to 512) in either engine and
 * returns the final state. The engines share every piece of the model and
 * differ only in scheduling (sim.ts, threads.ts).
 */
import { prepareMachine } from './boot.js';
import { hostNowMs, withNondeterminismTraps } from './determinism.js';
import { runSim, type EngineFault } from './sim.js';
import { runThreads } from './threads.js';
import { loadProgram, type GuestProgram } from './program.js';
import { ControlLayout, outcomeName, type Outcome } from './control.js';
import { CpuLayout, POWER_ON, POWER_OFF, RUN_RUNNING, RUN_SLEEPING, RUN_OFF } from '../../cpus/layout.js';
import { WAIT_NAMES } from '../../cpus/isa.js';
import { describePstate, pstateEl } from '../../cpus/pstate.js';
import { readTrace, type TraceRecord } from '../trace/ring.js';
import { MAX_CPUS, type MachineShared } from './shared.js';
import type { MachineConfig } from './config.js';
import type { KernelImage } from '../../cpus/image.js';
import { InputError } from '../errors.js';

const C = ControlLayout.fields;
const F = CpuLayout.fields;

export interface CpuFinalState {
  readonly cpu: number;
  readonly pc: number;
  readonly symbol: string;
  readonly power: 'on' | 'off' | 'on-pending';
  /** What the CPU was doing when the run ended. */
  readonly activity: 'running' | 'wfi' | 'wfe' | 'el3' | 'off';
  readonly el: number;
  readonly pstate: number;
  readonly pstateText: string;
  readonly retired: number;
}

/** The final state of a machine run: outcome, CPU states, guest memory, the trace. */
export interface MachineResult {
  readonly outcome: Outcome;
  /** CPU whose action decided the outcome (-1: the machine itself). */
  readonly endCpu: number;
  readonly endDetail: number;
  readonly guestTimeNs: number;
  readonly hostMs: number;
  readonly idleSkips: number;
  readonly fault: EngineFault | null;
  readonly cpus: readonly CpuFinalState[];
  readonly shared: MachineShared;
  readonly image: KernelImage;
  readonly program: GuestProgram;
  /** Every CPU's trace records (read once, then the same array: do not modify it). */
  trace(): readonly TraceRecord[];
  /** Per CPU: records of the machine channel (stop history, not entry-code records) overwritten by newer ones. */
  traceOverwritten(): number[];
  /** Reads a 32-bit word of guest RAM. */
  peek32(addr: number): number;
  /** Reads a 64-bit little-endian value of guest RAM as a (safe-integer) number. */
  peek64(addr: number): number;
}

export async function runMachine(cfg: MachineConfig): Promise<MachineResult> {
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > MAX_CPUS) {
    throw new InputError('cpus', `must be an integer from 1 to ${MAX_CPUS}, got ${String(cfg.cpus)}`);
  }
  const program = await loadProgram(cfg.program, { ncpus: cfg.cpus });
  const m = prepareMachine(cfg, program);
  const hostNow = hostNowMs;
  const eng = cfg.engine === 'sim'
    ? withNondeterminismTraps(() => runSim(m, program, cfg, hostNow))
    : await runThreads(m, cfg, hostNow);
  return collect(m, program, eng.hostMs, eng.fault);
}

function collect(m: MachineShared, program: GuestProgram, hostMs: number, fault: EngineFault | null): MachineResult {
  const outcome = outcomeName(Atomics.load(m.ctl32, C.STATE.index));
  const cpus: CpuFinalState[] = [];
  for (let cpu = 0; cpu < m.ncpus; cpu++) {
    const pc = m.cpuF64[m.cpuF(cpu, F.PC.index)]!;
    const power = Atomics.load(m.cpu32, m.cpuI(cpu, F.POWER.index));
    const wait = Atomics.load(m.cpu32, m.cpuI(cpu, F.WAIT_KIND.index));
    const ps = Atomics.load(m.cpu32, m.cpuI(cpu, F.PSTATE.index));
    const off = power === POWER_OFF;
    cpus.push({
      cpu,
      pc: off ? 0 : pc,
      symbol: off ? '-' : program.image.symbolize(pc),
      power: power === POWER_ON ? 'on' : off ? 'off' : 'on-pending',
      activity: off ? 'off' : (WAIT_NAMES[wait] ?? 'running') as CpuFinalState['activity'],
      el: pstateEl(ps),
      pstate: ps,
      pstateText: describePstate(ps),
      retired: m.cpuF64[m.cpuF(cpu, F.RETIRED.index)]!,
    });
  }
  // Read once: the analysis, every checker and the exporters all ask for the same records.
  let traceRead: ReturnType<typeof readTrace> | null = null;
  const traceOf = (): ReturnType<typeof readTrace> => (traceRead ??= readTrace(m));
  return {
    outcome: outcome === 'running' ? 'aborted' : outcome,
    endCpu: Atomics.load(m.ctl32, C.END_CPU.index),
    endDetail: Atomics.load(m.ctl32, C.END_DETAIL.index),
    guestTimeNs: m.ctlF64[C.END_TIME.index]!,
    hostMs,
    idleSkips: Atomics.load(m.ctl32, C.JUMPS.index),
    fault,
    cpus,
    shared: m,
    image: program.image,
    program,
    trace: () => traceOf().records,
    traceOverwritten: () => traceOf().droppedMachine,
    peek32: (addr) => peek32(m, addr),
    peek64: (addr) => (peek32(m, addr) >>> 0) + peek32(m, addr + 4) * 0x1_0000_0000,
  };
}

export { RUN_RUNNING, RUN_SLEEPING, RUN_OFF };

function peek32(m: MachineShared, addr: number): number {
  const off = addr - m.map.ramBase;
  if (off < 0 || off + 4 > m.map.ramBytes || off % 4 !== 0) throw new RangeError(`0x${addr.toString(16)} is not a word of guest RAM`);
  return Atomics.load(m.ram32, off >> 2);
}
