/**
 * Who can make progress, and waking those who cannot.
 *
 * Each CPU has a RUNSTATE word (RUNNING, SLEEPING, OFF, HALTED) and the control
 * block counts RUNNABLE CPUs (powered on and not asleep, including a CPU that has
 * just been woken but whose thread has not run yet). The protocol:
 *
 *  - A waker first publishes its reason (Atomics.or into the target's ATTN
 *    word, or a GIC pending bit before that), then tries CAS(SLEEPING ->
 *    RUNNING) on the target. Only the CAS winner rings the doorbell, so a CPU
 *    is woken exactly once however many wake it.
 *  - Count first: the waker adds to RUNNABLE (and bumps WAKE_SEQ) *before* its
 *    CAS and gives the count back if the CAS fails, so a RUNNING CPU is always
 *    counted. Counting after the CAS lost wake-ups: the woken CPU can see
 *    RUNNING, run, and fall asleep again before its waker's add, taking
 *    RUNNABLE to 0 while the waker still runs; the idle skip then called the
 *    run hung (about 1 threads-engine run in 4,000 of the wedge presets).
 *  - A CPU going to sleep stores its wake deadline, stores SLEEPING, then
 *    re-reads ATTN: seq-cst Atomics guarantee that either the waker's load or
 *    CAS saw SLEEPING or this re-read sees the waker's bit, so no wake-up is lost.
 *  - Whoever brings RUNNABLE to 0 performs the idle skip: guest time jumps to
 *    the earliest deadline among sleepers, which are then woken. If no sleeper
 *    has a deadline, nothing can ever happen again: the run is hung. The skip
 *    decides on a scan of every CPU; it trusts the scan only if RUNNABLE is
 *    still 0 and no wake was attempted meanwhile (WAKE_SEQ unchanged). A CPU
 *    starts running only through a wake, so then nothing changed under it.
 *
 * Both engines use these functions; the threads engine then blocks in
 * Atomics.wait on the doorbell, the sim engine returns to its scheduler.
 */
import {
  CpuLayout, RUN_RUNNING, RUN_SLEEPING, RUN_OFF, RUN_HALTED, ATTN_STOP, ATTN_POWER,
} from '../../cpus/layout.js';
import { ControlLayout, MACHINE_RUNNING, OUTCOME_CODES, type Outcome } from './control.js';
import type { MachineShared } from './shared.js';
import { load32, add32, or32, exchange32, cas32 } from './access.js';
import type { GuestClock } from './clock.js';

const F = CpuLayout.fields;
const C = ControlLayout.fields;

/** Publishes `bits` to `cpu` and wakes it if it sleeps. */
export function kick(m: MachineShared, cpu: number, bits: number): void {
  // Publish the reason before the wake attempt (see the protocol above).
  or32(m.singleThread, m.cpu32, m.cpuI(cpu, F.ATTN.index), bits);
  wakeIfSleeping(m, cpu);
}

export function wakeIfSleeping(m: MachineShared, cpu: number): boolean {
  if (!claim(m, cpu, RUN_SLEEPING)) return false;
  ringDoorbell(m, cpu);
  return true;
}

/**
 * Moves `cpu` from state `from` to RUNNING, counted before the move (see the
 * protocol above). The plain load first keeps the common case, a kick at a
 * CPU that is running, free of read-modify-writes; it is as good as a failed
 * CAS for the lost-wake-up argument (both are seq-cst reads).
 */
function claim(m: MachineShared, cpu: number, from: number): boolean {
  const rs = m.cpuI(cpu, F.RUNSTATE.index);
  const plain = m.singleThread;
  if (load32(plain, m.cpu32, rs) !== from) return false;
  add32(plain, m.ctl32, C.RUNNABLE.index, 1);
  add32(plain, m.ctl32, C.WAKE_SEQ.index, 1);
  if (cas32(plain, m.cpu32, rs, from, RUN_RUNNING) === from) {
    if (m.onWake !== null) m.onWake(cpu);
    return true;
  }
  // Someone else woke it (and counted it first), or the run ended: give the count back. This never
  // takes RUNNABLE to 0 with a CPU left to skip for: a woken CPU is counted; an idle skip that
  // lost the race rescans (idleSkip).
  Atomics.sub(m.ctl32, C.RUNNABLE.index, 1);
  return false;
}

export function ringDoorbell(m: MachineShared, cpu: number): void {
  const db = m.cpuI(cpu, F.DOORBELL.index);
  // The bump makes a sleeper that has read the old doorbell value return at once from Atomics.wait.
  add32(m.singleThread, m.cpu32, db, 1);
  // One thread runs every CPU: nothing sleeps on a doorbell (a notify with no waiter still takes V8's futex lock).
  if (!m.singleThread) Atomics.notify(m.cpu32, db);
}

/**
 * Marks `cpu` asleep until `deadline` (guest ns, Infinity for none). Returns the
 * number of runnable CPUs left; 0 obliges the caller to run `idleSkip`.
 */
export function markSleeping(m: MachineShared, cpu: number, deadline: number): number {
  m.cpuF64[m.cpuF(cpu, F.WAKE_DEADLINE.index)] = deadline;
  // The exchange (seq-cst) publishes the deadline written above to the idle skipper.
  const plain = m.singleThread;
  const prev = exchange32(plain, m.cpu32, m.cpuI(cpu, F.RUNSTATE.index), RUN_SLEEPING);
  // Only a CPU that was counted runnable gives its count back.
  if (prev === RUN_RUNNING) return add32(plain, m.ctl32, C.RUNNABLE.index, -1) - 1;
  return load32(plain, m.ctl32, C.RUNNABLE.index);
}

/**
 * The sleeper (or powered-off CPU) wakes itself: its deadline passed, or it saw
 * a reason after marking itself. `from` is the state it marked (SLEEPING or OFF).
 */
export function selfWake(m: MachineShared, cpu: number, from: number = RUN_SLEEPING): void {
  claim(m, cpu, from);
}

export function isSleeping(m: MachineShared, cpu: number): boolean {
  return load32(m.singleThread, m.cpu32, m.cpuI(cpu, F.RUNSTATE.index)) === RUN_SLEEPING;
}

/** Marks `cpu` powered off (PSCI CPU_OFF); returns the runnable count left. */
export function markOff(m: MachineShared, cpu: number): number {
  m.cpuF64[m.cpuF(cpu, F.WAKE_DEADLINE.index)] = Infinity;
  const plain = m.singleThread;
  const prev = exchange32(plain, m.cpu32, m.cpuI(cpu, F.RUNSTATE.index), RUN_OFF);
  if (prev === RUN_RUNNING) return add32(plain, m.ctl32, C.RUNNABLE.index, -1) - 1;
  return load32(plain, m.ctl32, C.RUNNABLE.index);
}

/** CPU_ON: an OFF CPU becomes runnable. Returns false if it was not OFF. */
export function powerOnKick(m: MachineShared, cpu: number, bits: number): boolean {
  Atomics.or(m.cpu32, m.cpuI(cpu, F.ATTN.index), bits);
  if (!claim(m, cpu, RUN_OFF)) return false;
  ringDoorbell(m, cpu);
  return true;
}

export function markHalted(m: MachineShared, cpu: number): void {
  const prev = Atomics.exchange(m.cpu32, m.cpuI(cpu, F.RUNSTATE.index), RUN_HALTED);
  if (prev === RUN_RUNNING) Atomics.sub(m.ctl32, C.RUNNABLE.index, 1);
  Atomics.add(m.ctl32, C.HALTED.index, 1);
  Atomics.notify(m.ctl32, C.HALTED.index);
}

export function machineRunning(m: MachineShared): boolean {
  return load32(m.singleThread, m.ctl32, C.STATE.index) === MACHINE_RUNNING;
}

/**
 * Decides the run's outcome. The first caller wins (CAS on STATE); every CPU
 * is then told to stop at its next instruction boundary, sleeping and
 * powered-off ones included. The end time is taken after the stop has been
 * published to every CPU (a function `time` is evaluated then), so that no CPU
 * can legitimately run on after it even if this thread was descheduled
 * in between. Returns whether this call decided the outcome.
 */
export function endRun(m: MachineShared, outcome: Outcome, cpu: number, detail: number, time: number | (() => number)): boolean {
  const code = OUTCOME_CODES[outcome];
  if (Atomics.compareExchange(m.ctl32, C.STATE.index, MACHINE_RUNNING, code) !== MACHINE_RUNNING) return false;
  Atomics.store(m.ctl32, C.END_CPU.index, cpu);
  Atomics.store(m.ctl32, C.END_DETAIL.index, detail);
  for (let i = 0; i < m.ncpus; i++) Atomics.or(m.cpu32, m.cpuI(i, F.ATTN.index), ATTN_STOP);
  m.ctlF64[C.END_TIME.index] = typeof time === 'number' ? time : time();
  for (let i = 0; i < m.ncpus; i++) ringDoorbell(m, i);
  // Wakes a controller waiting (Atomics.waitAsync) on the outcome word; the END_* stores above precede it.
  Atomics.notify(m.ctl32, C.STATE.index);
  return true;
}

/**
 * Called by whoever brought RUNNABLE to 0 (threads engine), or by the sim
 * scheduler when nothing is runnable. Moves guest time to the earliest sleeper
 * deadline and wakes every sleeper whose deadline has come; ends the run as
 * hung if nothing could ever wake, or at the guest-time limit.
 * Returns the number of CPUs woken.
 */
export function idleSkip(m: MachineShared, clock: GuestClock, limit: number): number {
  for (;;) {
    const seq = Atomics.load(m.ctl32, C.WAKE_SEQ.index);
    if (Atomics.load(m.ctl32, C.RUNNABLE.index) > 0) return 0; // someone runs: it skips when it sleeps
    let woken = 0;
    for (let i = 0; i < m.ncpus; i++) {
      const rs = Atomics.load(m.cpu32, m.cpuI(i, F.RUNSTATE.index));
      // A sleeper (or powered-off CPU) whose ATTN word holds a reason it has not seen yet is not idle:
      // it marked itself and is about to re-check. Wake it rather than skip time or call the run hung.
      if (rs !== RUN_SLEEPING && rs !== RUN_OFF) continue;
      const attn = Atomics.load(m.cpu32, m.cpuI(i, F.ATTN.index));
      // A powered-off CPU only cares about CPU_ON (interrupts latch but do not wake it).
      if (rs === RUN_OFF ? (attn & (ATTN_POWER | ATTN_STOP)) !== 0 : attn !== 0) {
        if (rs === RUN_SLEEPING ? wakeIfSleeping(m, i) : powerOnKick(m, i, 0)) woken++;
      }
    }
    if (woken > 0) return woken;
    let min = Infinity;
    for (let i = 0; i < m.ncpus; i++) {
      if (Atomics.load(m.cpu32, m.cpuI(i, F.RUNSTATE.index)) !== RUN_SLEEPING) continue;
      // The SLEEPING load above synchronises with markSleeping's store: the deadline is current.
      const d = m.cpuF64[m.cpuF(i, F.WAKE_DEADLINE.index)]!;
      if (d < min) min = d;
    }
    if (Atomics.load(m.ctl32, C.RUNNABLE.index) > 0) return 0; // someone woke meanwhile
    // A wake was attempted during the scan: what it read may be stale. Nobody runs, so scan again.
    if (Atomics.load(m.ctl32, C.WAKE_SEQ.index) !== seq) continue;
    if (min === Infinity) {
      endRun(m, 'hung', -1, 0, clock.now());
      return 0;
    }
    if (min > limit) {
      clock.advanceTo(limit);
      endRun(m, 'guest-time-limit', -1, 0, limit);
      return 0;
    }
    clock.advanceTo(min);
    Atomics.add(m.ctl32, C.JUMPS.index, 1);
    const now = clock.now();
    for (let i = 0; i < m.ncpus; i++) {
      if (Atomics.load(m.cpu32, m.cpuI(i, F.RUNSTATE.index)) !== RUN_SLEEPING) continue;
      const d = m.cpuF64[m.cpuF(i, F.WAKE_DEADLINE.index)]!;
      if (d <= now) {
        if (wakeIfSleeping(m, i)) woken++;
      } else if (d !== Infinity) {
        // Time jumped under a sleeper with a later deadline: let it recompute its host timeout.
        ringDoorbell(m, i);
      }
    }
    return woken;
  }
}

export function runnableCount(m: MachineShared): number {
  return Atomics.load(m.ctl32, C.RUNNABLE.index);
}

export { RUN_RUNNING, RUN_SLEEPING, RUN_OFF, RUN_HALTED };
