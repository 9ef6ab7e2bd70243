/**
 * SDEI dispatch and completion (reference/firmware-and-gic.md sections 3.5,
 * 3.6, 3.8, 3.9; TF-A sdei_intr_mgmt.c sdei_intr_handler, setup_ns_dispatch,
 * sdei_event_complete).
 *
 * An SDEI interrupt is Group 0, taken as FIQ to EL3. The six dispatch
 * conditions of sdei_intr_handler and what enforces each here:
 *  1. signalled: the interrupt is pending (GIC model);
 *  2. registered and enabled: checked below against the handler state;
 *  3. this PE is a target: GIC routing (SGI/PPI at this PE, SPI IROUTER);
 *  4. the PE is unmasked: checked below (masked trigger handling);
 *  5./6. no event of the same or higher class running: the GIC running
 *     priority, because a dispatched interrupt stays active until COMPLETE.
 */
import { EL3_ERET, type CpuCore } from '../../cpus/core.js';
import { PSR_ALLINT } from '../../cpus/pstate.js';
import { CpuLayout, SCTLR_SPINTMASK } from '../../cpus/layout.js';
import { A, DENY, nextState, STATF_REGISTERED, STATF_ENABLED } from './state.js';
import { PRIVATE_EVENTS } from './events.js';
import { MAX_DISPATCH, REENABLE_SHARED } from '../layout.js';
import { GROUP0, RedistributorLayout, DistributorLayout, SPI_BASE, INTID_SPURIOUS } from '../../src/gic/layout.js';
import { SYS } from '../../cpus/sysregs.js';
import { T } from '../../src/trace/events.js';
import type { FirmwareState, EventInstance } from '../state.js';
import { SDEI_RET, RM_ANY, handlerSpsr } from './main.js';

const R = RedistributorLayout.fields;
const D = DistributorLayout.fields;
const F = CpuLayout.fields;

function eoi(core: CpuCore, intid: number): void {
  core.gic.endOfInterrupt(intid, GROUP0, true);
  core.recheck = true;
  core.trace?.emit(T.EOI, intid, 0);
}

function setPendingAgain(fw: FirmwareState, pe: number, intid: number): void {
  const g = fw.m.gic32;
  if (intid < 32) Atomics.or(g, fw.m.gicrI(pe, R.PENDING.index), 1 << intid);
  else Atomics.or(g, D.PENDING.index, 1 << (intid - SPI_BASE));
}

function disableInt(fw: FirmwareState, pe: number, intid: number): void {
  const g = fw.m.gic32;
  if (intid < 32) Atomics.and(g, fw.m.gicrI(pe, R.ENABLE.index), ~(1 << intid));
  else Atomics.and(g, D.ENABLE.index, ~(1 << (intid - SPI_BASE)));
}

/** The FIQ handler at EL3 (TF-A EHF + sdei_intr_handler). */
export function sdeiFiq(fw: FirmwareState, core: CpuCore): number {
  const pe = core.cpu;
  // Acknowledge through ICC_IAR0_EL1: the INTID becomes active, the running priority rises.
  const intid = core.gic.acknowledge(GROUP0, true, true);
  core.recheck = true;
  if (intid >= 1020) return EL3_ERET; // spurious, or a Group 1 interrupt EL3 does not handle
  core.trace?.emit(T.FIQ_EL3, intid, 0);
  const e = fw.config.sdei ? fw.eventForIntid(pe, intid) : null;
  if (!e) {
    eoi(core, intid);
    return EL3_ERET;
  }
  if (fw.masked(pe)) return maskedTrigger(fw, core, e, intid);
  const st = e.state;
  if ((st & (STATF_REGISTERED | STATF_ENABLED)) !== (STATF_REGISTERED | STATF_ENABLED)) {
    if (st & STATF_REGISTERED) {
      if (e.def.num === 0 && fw.quirk('disabled-event-repends')) {
        // TF-A section 3.10 Q2: re-pend and EOI with the SGI still enabled: the PE bounces.
        setPendingAgain(fw, pe, intid);
      } else {
        // Clean: keep the signal pending with the interrupt disabled until the event is enabled.
        disableInt(fw, pe, intid);
        setPendingAgain(fw, pe, intid);
        if (!e.def.shared) fw.setReenable(pe, fw.reenable(pe) | (1 << e.index));
      }
    }
    eoi(core, intid);
    return EL3_ERET;
  }
  const next = nextState(st, A.DISPATCH);
  if (next === DENY) {
    // Cannot happen while the GIC running priority holds (section 3.6); keep the signal.
    setPendingAgain(fw, pe, intid);
    eoi(core, intid);
    return EL3_ERET;
  }
  const depth = fw.depth(pe);
  if (depth >= MAX_DISPATCH) {
    throw core.fault(`SDEI: third nested dispatch on PE ${pe} (TF-A asserts in push_dispatch; section 3.10 Q4)`);
  }
  // TF-A sdei_intr_handler asserts: a normal event needs no outstanding dispatch, a critical one
  // at most a normal one. Only a stale record (left by CPU_OFF) gets past the GIC running priority.
  if (depth > 0 && (!e.def.critical || fw.dispatch(pe, depth - 1).critical)) {
    throw core.fault(`SDEI: ${e.def.critical ? 'critical' : 'normal'} dispatch with a ${fw.dispatch(pe, depth - 1).critical ? 'critical' : 'normal'} dispatch outstanding on PE ${pe} (stale dispatch record; TF-A asserts in debug builds)`);
  }
  // Push the dispatch record: interrupted x0-x17, ELR_EL3, SPSR_EL3.
  const rec = fw.dispatch(pe, depth);
  for (let n = 0; n < 18; n++) rec.setX(n, core.x(n));
  const elr = core.m.cpuF64[core.m.cpuF(pe, F.ELR_EL3.index)]!;
  const spsr = core.m.cpu32[core.m.cpuI(pe, F.SPSR_EL3.index)]!;
  rec.elr = elr;
  rec.spsr = spsr;
  rec.event = e.def.num;
  rec.intid = intid;
  rec.critical = e.def.critical;
  rec.context = core.el3SaveContext();
  fw.setDepth(pe, depth + 1);
  e.state = next;
  if (e.def.shared) e.ownerPe = pe;
  // Handler entry (section 3.9): x0 event, x1 argument, x2 interrupted PC, x3 interrupted PSTATE;
  // EL1h with DAIF set (ALLINT too with FEAT_NMI unless SPINTMASK); ELR_EL1/SPSR_EL1 untouched.
  core.setX(0, e.def.num);
  core.setX(1, e.arg);
  core.setX(2, elr);
  core.setX(3, spsr >>> 0);
  let hs = handlerSpsr();
  if (core.cfg.featNmi && !(core.m.cpu32[core.m.cpuI(pe, F.SCTLR_EL1.index)]! & SCTLR_SPINTMASK)) hs |= PSR_ALLINT;
  core.m.cpuF64[core.m.cpuF(pe, F.ELR_EL3.index)] = e.entry;
  core.m.cpu32[core.m.cpuI(pe, F.SPSR_EL3.index)] = hs;
  core.trace?.emit(T.SDEI_DISPATCH, e.def.num, elr);
  // The interrupt stays active until COMPLETE: the running priority blocks same-class events
  // and every Non-secure interrupt (section 3.8 step 6).
  return EL3_ERET;
}

/** TF-A handle_masked_trigger (section 3.5). */
function maskedTrigger(fw: FirmwareState, core: CpuCore, e: EventInstance, intid: number): number {
  const pe = core.cpu;
  if (e.def.num === 0 && fw.quirk('masked-sgi-never-eoid')) {
    // Older TF-A (section 3.10 Q1): return without EOI; the SGI stays active at 0x70.
    return EL3_ERET;
  }
  if (e.def.shared && e.routeMode === RM_ANY) {
    setPendingAgain(fw, pe, intid); // another, unmasked PE may take it
  } else {
    // Private, or shared and routed RM_PE here: PE_UNMASK re-enables it (TF-A pending_enables).
    disableInt(fw, pe, intid);
    setPendingAgain(fw, pe, intid);
    fw.setReenable(pe, fw.reenable(pe) | (1 << (e.def.shared ? REENABLE_SHARED + e.index : e.index)));
  }
  eoi(core, intid);
  return EL3_ERET;
}

/**
 * SDEI_EVENT_COMPLETE / COMPLETE_AND_RESUME (section 3.9): pop the dispatch
 * record, restore x0-x17, PC and PSTATE of the interrupted context, then EOI.
 * COMPLETE_AND_RESUME makes it look as if an IRQ had been taken to `resume`
 * at EL1: ELR_EL1/SPSR_EL1 get the interrupted context, DAIF masked.
 */
export function completeDispatch(fw: FirmwareState, core: CpuCore, resumeCall: boolean, resume: number): number {
  const pe = core.cpu;
  const depth = fw.depth(pe);
  const fail = (v: number): number => { core.setX(0, v); return EL3_ERET; };
  if (depth === 0) return fail(SDEI_RET.DENIED);
  const rec = fw.dispatch(pe, depth - 1);
  const e = fw.event(pe, rec.event);
  if (!e) return fail(SDEI_RET.DENIED);
  const next = nextState(e.state, resumeCall ? A.COMPLETE_RESUME : A.COMPLETE);
  if (next < 0) return fail(SDEI_RET.DENIED);
  if (resumeCall && !(resume >= core.m.map.ramBase && resume < core.m.map.ramEnd && resume % 4 === 0)) {
    return fail(SDEI_RET.DENIED); // platform rejects the resumption address
  }
  if (!core.el3HasContext(rec.context)) {
    throw core.fault(`SDEI: dispatch record on PE ${pe} refers to a context that no longer exists (abandoned by CPU_OFF)`);
  }
  // Commit.
  e.state = next;
  if (e.def.shared) e.ownerPe = -1;
  fw.setDepth(pe, depth - 1);
  for (let n = 0; n < 18; n++) core.setX(n, rec.x(n));
  const m = core.m;
  if (resumeCall) {
    m.cpuF64[m.cpuF(pe, F.ELR_EL1.index)] = rec.elr;
    m.cpu32[m.cpuI(pe, F.SPSR_EL1.index)] = rec.spsr;
    m.cpuF64[m.cpuF(pe, F.ELR_EL3.index)] = resume;
    m.cpu32[m.cpuI(pe, F.SPSR_EL3.index)] = handlerSpsr();
    core.el3ConvertToEl1Exception(rec.context, rec.elr);
  } else {
    m.cpuF64[m.cpuF(pe, F.ELR_EL3.index)] = rec.elr;
    m.cpu32[m.cpuI(pe, F.SPSR_EL3.index)] = rec.spsr;
    core.el3ResumeContext(rec.context);
  }
  core.trace?.emit(T.SDEI_COMPLETE, rec.event, resumeCall ? 1 : 0);
  // TF-A EOIs after restoring the context (DSB, ICC_EOIR0_EL1).
  eoi(core, rec.intid);
  // x0 must hold the interrupted x0 on return, which the restore above put there.
  return EL3_ERET;
}

void PRIVATE_EVENTS; void INTID_SPURIOUS; void SYS;
