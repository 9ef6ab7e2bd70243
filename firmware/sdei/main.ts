/**
 * SDEI calls (SDEI DEN0054; reference/firmware-and-gic.md sections 3.1-3.7,
 * following TF-A services/std_svc/sdei/sdei_main.c). Each call validates,
 * computes the next handler state with the pure table (state.ts), and commits
 * only after every check has passed; side effects on the GIC happen only on a
 * real edge of the Enabled bit.
 */
import { EL3_ERET, type CpuCore } from '../../cpus/core.js';
import { CpuLayout, mpidrAffinity, mpidrOf } from '../../cpus/layout.js';
import { PSR_MODE_EL1H, PSR_DAIF } from '../../cpus/pstate.js';
import { A, DENY, NOP, PEND, nextState, STATF_RUNNING, STATF_ENABLED, STATF_REGISTERED } from './state.js';
import {
  PRIVATE_EVENTS, SHARED_EVENTS, SDEI_NORMAL_PRI, SDEI_CRITICAL_PRI, SDEI_SGI,
  PRIVATE_DYNAMIC_SLOTS, SHARED_DYNAMIC_SLOTS,
} from './events.js';
import { RedistributorLayout, DistributorLayout, SPI_BASE, NSPI } from '../../src/gic/layout.js';
import { sgirForCluster } from '../../src/gic/sgi.js';
import { GROUP0 } from '../../src/gic/layout.js';
import { T } from '../../src/trace/events.js';
import type { EventInstance, FirmwareState } from '../state.js';
import { completeDispatch } from './dispatch.js';
import { REENABLE_SHARED } from '../layout.js';
import { mpidrAffinityBits } from '../smccc.js';
import { implementedMask } from '../../src/gic/priority.js';

export const SDEI = {
  VERSION: 0xc400_0020,
  EVENT_REGISTER: 0xc400_0021,
  EVENT_ENABLE: 0xc400_0022,
  EVENT_DISABLE: 0xc400_0023,
  EVENT_CONTEXT: 0xc400_0024,
  EVENT_COMPLETE: 0xc400_0025,
  EVENT_COMPLETE_AND_RESUME: 0xc400_0026,
  EVENT_UNREGISTER: 0xc400_0027,
  EVENT_STATUS: 0xc400_0028,
  EVENT_GET_INFO: 0xc400_0029,
  EVENT_ROUTING_SET: 0xc400_002a,
  PE_MASK: 0xc400_002b,
  PE_UNMASK: 0xc400_002c,
  INTERRUPT_BIND: 0xc400_002d,
  INTERRUPT_RELEASE: 0xc400_002e,
  EVENT_SIGNAL: 0xc400_002f,
  FEATURES: 0xc400_0030,
  PRIVATE_RESET: 0xc400_0031,
  SHARED_RESET: 0xc400_0032,
} as const;

export const SDEI_RET = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  PENDING: -5,
  OUT_OF_RESOURCE: -10,
} as const;

export const SDEI_VERSION_1_1 = 0x0001_0001_0000_0000;
export const SDEI_VERSION_1_0 = 0x0001_0000_0000_0000;
export const RM_ANY = 0;
export const RM_PE = 1;
export const INFO = { TYPE: 0, SIGNALED: 1, PRIORITY: 2, ROUTING_MODE: 3, ROUTING_AFF: 4 } as const;

const R = RedistributorLayout.fields;
const D = DistributorLayout.fields;
const F = CpuLayout.fields;

/** TF-A is_sdei_fid: SMC64 and in 0xC4000020-0xC400003F. */
export function isSdeiFid(fid: number): boolean {
  return fid >= 0xc400_0020 && fid <= 0xc400_003f;
}

function ret(core: CpuCore, v: number): number {
  core.setX(0, v);
  return EL3_ERET;
}

function validMpidr(core: CpuCore, mpidr: number): boolean {
  const aff = mpidrAffinityBits(mpidr);
  return aff <= 0xffffff && core.cpuOfMpidr(aff) >= 0;
}

function validEntry(core: CpuCore, addr: number): boolean {
  return addr !== 0 && addr >= core.m.map.ramBase && addr < core.m.map.ramEnd && addr % 4 === 0;
}

// ---- GIC programming for bound interrupts (TF-A plat_ic_* helpers) ----

function setIntEnabled(fw: FirmwareState, pe: number, intid: number, on: boolean): void {
  const g = fw.m.gic32;
  if (intid < 32) {
    const i = fw.m.gicrI(pe, R.ENABLE.index);
    if (on) Atomics.or(g, i, 1 << intid); else Atomics.and(g, i, ~(1 << intid));
  } else if (intid < SPI_BASE + NSPI) {
    if (on) Atomics.or(g, D.ENABLE.index, 1 << (intid - SPI_BASE)); else Atomics.and(g, D.ENABLE.index, ~(1 << (intid - SPI_BASE)));
  }
}

export function enableEventInterrupt(fw: FirmwareState, core: CpuCore, e: EventInstance, on: boolean): void {
  const intid = e.intid;
  if (intid < 0) return;
  setIntEnabled(fw, e.pe >= 0 ? e.pe : core.cpu, intid, on);
  core.recheck = true;
}

/** TF-A sdei_event_register for a bound event: disable, clear pending (not SGIs), Group 0, SDEI priority, route. */
function programBound(fw: FirmwareState, core: CpuCore, e: EventInstance, routeAny: boolean, targetAff: number): void {
  const intid = e.intid;
  const prio = e.def.critical ? SDEI_CRITICAL_PRI : SDEI_NORMAL_PRI;
  const m = fw.m;
  const g = m.gic32;
  if (intid < 32) {
    const pe = e.pe >= 0 ? e.pe : core.cpu;
    Atomics.and(g, m.gicrI(pe, R.ENABLE.index), ~(1 << intid));
    if (intid >= 16) Atomics.and(g, m.gicrI(pe, R.PENDING.index), ~(1 << intid));
    Atomics.and(g, m.gicrI(pe, R.IGROUPR0.index), ~(1 << intid));
    Atomics.and(g, m.gicrI(pe, R.IGRPMODR0.index), ~(1 << intid));
    m.gicU8[m.gicrPrioByte(pe, intid)] = prio;
  } else {
    const s = intid - SPI_BASE;
    Atomics.and(g, D.ENABLE.index, ~(1 << s));
    Atomics.and(g, D.PENDING.index, ~(1 << s));
    Atomics.and(g, D.IGROUPR.index, ~(1 << s));
    Atomics.and(g, D.IGRPMODR.index, ~(1 << s));
    m.gicU8[m.gicdPrioByte(s)] = prio;
    Atomics.store(g, D.IROUTER.index + s, routeAny ? 0x80000000 : targetAff);
  }
}

function intActive(fw: FirmwareState, pe: number, intid: number): boolean {
  const g = fw.m.gic32;
  if (intid < 32) return (Atomics.load(g, fw.m.gicrI(pe, R.ACTIVE.index)) & (1 << intid)) !== 0;
  return (Atomics.load(g, D.ACTIVE.index) & (1 << (intid - SPI_BASE))) !== 0;
}

function intIsNonSecure(fw: FirmwareState, pe: number, intid: number): boolean {
  const g = fw.m.gic32;
  if (intid < 32) return (Atomics.load(g, fw.m.gicrI(pe, R.IGROUPR0.index)) & (1 << intid)) !== 0;
  return (Atomics.load(g, D.IGROUPR.index) & (1 << (intid - SPI_BASE))) !== 0;
}

// ---- the calls ----

export function sdeiCall(fw: FirmwareState, core: CpuCore, fid: number): number {
  if (!fw.config.sdei) return ret(core, SDEI_RET.NOT_SUPPORTED);
  const pe = core.cpu;
  const x1 = core.x(1);
  switch (fid) {
    case SDEI.VERSION:
      return ret(core, fw.quirk('sdei-version-1.0') ? SDEI_VERSION_1_0 : SDEI_VERSION_1_1);

    case SDEI.FEATURES:
      if (x1 !== 0) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      return ret(core, PRIVATE_DYNAMIC_SLOTS | (SHARED_DYNAMIC_SLOTS << 16));

    case SDEI.EVENT_REGISTER: {
      const entry = core.x(2);
      const arg = core.x(3);
      const flags = core.x(4);
      const aff = core.x(5);
      if (!validEntry(core, entry)) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      // TF-A validate_flags runs before the event lookup, so an RM_PE registration of a private
      // event with a bad MPIDR is INVALID too, although private events then ignore routing.
      if (flags !== RM_ANY && flags !== RM_PE) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      if (flags === RM_PE && !validMpidr(core, aff)) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      const e = fw.event(pe, x1);
      if (!e) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      if (e.def.dynamic && e.intid < 0) return ret(core, SDEI_RET.DENIED); // dynamic event not bound yet
      return ret(core, withSharedLock(fw, e, () => {
        const next = nextState(e.state, A.REGISTER);
        if (next === DENY) return SDEI_RET.DENIED;
        const bound = e.intid >= 0 && !(e.def.num === 0);
        const ipe = e.pe >= 0 ? e.pe : pe;
        // TF-A sdei_event_register: the bound interrupt must not be active and must belong to Non-secure.
        if (bound && (intActive(fw, ipe, e.intid) || !intIsNonSecure(fw, ipe, e.intid))) return SDEI_RET.DENIED;
        // Commit.
        e.entry = entry;
        e.arg = arg;
        if (e.def.shared) {
          e.routeMode = flags;
          e.routeAff = flags === RM_PE ? mpidrAffinity(aff) : 0;
        }
        // Event 0 is not a bound event: SGI 8 is Group 0 from boot and is not reprogrammed.
        if (bound) programBound(fw, core, e, e.def.shared && flags === RM_ANY, mpidrAffinity(aff));
        e.ownerPe = -1;
        e.state = next;
        return SDEI_RET.SUCCESS;
      }));
    }

    case SDEI.EVENT_ENABLE:
    case SDEI.EVENT_DISABLE: {
      const e = fw.event(pe, x1);
      if (!e) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      const enable = fid === SDEI.EVENT_ENABLE;
      return ret(core, withSharedLock(fw, e, () => {
        const before = e.state;
        const next = nextState(before, enable ? A.ENABLE : A.DISABLE);
        if (next === DENY) return SDEI_RET.DENIED;
        if (next === NOP) return SDEI_RET.SUCCESS;
        e.state = next;
        // Touch the GIC only on a real edge of Enabled (TF-A sdei_event_enable/disable).
        if (((before ^ next) & STATF_ENABLED) !== 0 && e.def.num !== 0) enableEventInterrupt(fw, core, e, enable);
        if (enable && e.def.num === 0) reenableAfterEnable(fw, core, e);
        return SDEI_RET.SUCCESS;
      }));
    }

    case SDEI.EVENT_CONTEXT: {
      if (x1 < 0 || x1 >= 18 || !Number.isInteger(x1)) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      const depth = fw.depth(pe);
      if (depth === 0) return ret(core, SDEI_RET.DENIED);
      const rec = fw.dispatch(pe, depth - 1);
      const e = fw.event(pe, rec.event);
      if (!e || nextState(e.state, A.CONTEXT) === DENY) return ret(core, SDEI_RET.DENIED);
      return ret(core, rec.x(x1));
    }

    case SDEI.EVENT_COMPLETE:
      return completeDispatch(fw, core, false, 0);

    case SDEI.EVENT_COMPLETE_AND_RESUME:
      return completeDispatch(fw, core, true, x1);

    case SDEI.EVENT_UNREGISTER: {
      const e = fw.event(pe, x1);
      if (!e) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      return ret(core, withSharedLock(fw, e, () => unregister(fw, core, e)));
    }

    case SDEI.EVENT_STATUS: {
      const e = fw.event(pe, x1);
      if (!e) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      return ret(core, e.state & 7);
    }

    case SDEI.EVENT_GET_INFO: {
      const e = fw.event(pe, x1);
      const info = core.x(2);
      if (!e) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      switch (info) {
        case INFO.TYPE: return ret(core, e.def.shared ? 1 : 0);
        // IMPDEF: the spec meaning, 1 = signalable (TF-A returns the inverse; section 3.1).
        case INFO.SIGNALED: return ret(core, e.def.signalable ? 1 : 0);
        case INFO.PRIORITY: return ret(core, e.def.critical ? 1 : 0);
        // TF-A sdei_event_get_info: routing of a shared event only; DENIED while it is not registered.
        case INFO.ROUTING_MODE:
          if (!e.def.shared) return ret(core, SDEI_RET.INVALID_PARAMETERS);
          if (!(e.state & STATF_REGISTERED)) return ret(core, SDEI_RET.DENIED);
          return ret(core, e.routeMode);
        case INFO.ROUTING_AFF:
          if (!e.def.shared) return ret(core, SDEI_RET.INVALID_PARAMETERS);
          if (!(e.state & STATF_REGISTERED)) return ret(core, SDEI_RET.DENIED);
          if (e.routeMode !== RM_PE) return ret(core, SDEI_RET.INVALID_PARAMETERS);
          return ret(core, e.routeAff);
        default:
          return ret(core, SDEI_RET.INVALID_PARAMETERS);
      }
    }

    case SDEI.EVENT_ROUTING_SET: {
      const e = fw.event(pe, x1);
      const mode = core.x(2);
      const aff = core.x(3);
      if (!e || !e.def.shared) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      if (mode !== RM_ANY && mode !== RM_PE) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      if (mode === RM_PE && !validMpidr(core, aff)) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      return ret(core, fw.lock(() => {
        if (e.intid < 0) return SDEI_RET.INVALID_PARAMETERS; // TF-A sdei_event_routing_set: unbound dynamic event
        const next = nextState(e.state, A.ROUTING);
        if (next === DENY) return SDEI_RET.DENIED;
        e.routeMode = mode;
        e.routeAff = mode === RM_PE ? mpidrAffinity(aff) : 0;
        if (e.intid >= SPI_BASE) Atomics.store(fw.m.gic32, D.IROUTER.index + e.intid - SPI_BASE, mode === RM_ANY ? 0x80000000 : e.routeAff);
        return SDEI_RET.SUCCESS;
      }));
    }

    case SDEI.PE_MASK:
      // TF-A returns 1 if this call masked the PE, 0 if it was already masked.
      return ret(core, fw.setMasked(pe, true) ? 0 : 1);

    case SDEI.PE_UNMASK: {
      fw.setMasked(pe, false);
      // Re-enable interrupts disabled by a masked trigger whose event is still enabled (TF-A sdei_pe_unmask).
      const bits = fw.reenable(pe);
      fw.setReenable(pe, 0);
      for (let i = 0; i < PRIVATE_EVENTS.length; i++) {
        if (!(bits & (1 << i))) continue;
        const e = fw.privateEvent(pe, i);
        if ((e.state & STATF_ENABLED) || e.def.num === 0) setIntEnabled(fw, pe, e.intid, true);
      }
      // TF-A sdei_pe_unmask: shared events routed RM_PE to this PE too.
      const me = mpidrAffinity(core.mpidr);
      for (let j = 0; j < SHARED_EVENTS.length; j++) {
        if (!(bits & (1 << (REENABLE_SHARED + j)))) continue;
        fw.lock(() => {
          const e = fw.sharedEvent(j);
          if ((e.state & STATF_ENABLED) && e.routeMode === RM_PE && e.routeAff === me && e.intid >= 0) setIntEnabled(fw, pe, e.intid, true);
        });
      }
      core.recheck = true;
      return ret(core, SDEI_RET.SUCCESS);
    }

    case SDEI.INTERRUPT_BIND: {
      const intid = x1;
      if (!Number.isInteger(intid) || intid < 16 || intid >= SPI_BASE + NSPI) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      return ret(core, fw.lock(() => {
        const existing = fw.eventForIntid(pe, intid);
        if (existing) return existing.def.dynamic ? existing.def.num : SDEI_RET.INVALID_PARAMETERS;
        // TF-A sdei_interrupt_bind: a free slot first (OUT_OF_RESOURCE), then Non-secure ownership (DENIED).
        const pool = intid < 32 ? PRIVATE_EVENTS : SHARED_EVENTS;
        const free = pool.find((d) => d.dynamic && fw.boundIntid(d) < 0);
        if (!free) return SDEI_RET.OUT_OF_RESOURCE;
        if (!intIsNonSecure(fw, pe, intid)) return SDEI_RET.DENIED;
        fw.setBound(free, intid);
        return free.num;
      }));
    }

    case SDEI.INTERRUPT_RELEASE: {
      const e = fw.event(pe, x1);
      if (!e || !e.def.dynamic) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      return ret(core, fw.lock(() => {
        // TF-A sdei_interrupt_release: registered anywhere -> DENIED; not bound -> INVALID; active -> DENIED.
        const intid = e.intid;
        if (!unregisteredEverywhere(fw, e)) return SDEI_RET.DENIED;
        if (intid < 0) return SDEI_RET.INVALID_PARAMETERS;
        if (intActive(fw, pe, intid)) return SDEI_RET.DENIED;
        releaseBinding(fw, e, pe);
        return SDEI_RET.SUCCESS;
      }));
    }

    case SDEI.EVENT_SIGNAL: {
      if (x1 !== 0) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      const mpidr = core.x(2);
      if (!validMpidr(core, mpidr)) return ret(core, SDEI_RET.INVALID_PARAMETERS);
      const target = core.cpuOfMpidr(mpidr);
      if (fw.quirk('signal-masked-target-denied')) {
        // TF-A sdei_signal after b142ede7: the target must be unmasked with event 0 registered and enabled.
        const e0 = fw.privateEvent(target, 0);
        if (fw.masked(target) || (e0.state & (STATF_REGISTERED | STATF_ENABLED)) !== (STATF_REGISTERED | STATF_ENABLED)) {
          return ret(core, SDEI_RET.INVALID_PARAMETERS);
        }
      }
      // Raise the Group 0 SGI at exactly the target (TF-A gicv3_raise_sgi: ICC_SGI0R_EL1 after a DSB).
      const aff = mpidrAffinity(mpidrOf(target));
      core.trace?.emit(T.SDEI_SIGNAL, 0, target);
      core.sendSgi(sgirForCluster(SDEI_SGI, (aff >> 8) & 0xff, [aff & 0xff]), GROUP0);
      return ret(core, SDEI_RET.SUCCESS);
    }

    case SDEI.PRIVATE_RESET: {
      let denied = false;
      for (let i = 0; i < PRIVATE_EVENTS.length; i++) {
        if (unregister(fw, core, fw.privateEvent(pe, i)) === SDEI_RET.PENDING) denied = true;
      }
      return ret(core, denied ? SDEI_RET.DENIED : SDEI_RET.SUCCESS);
    }

    case SDEI.SHARED_RESET: {
      return ret(core, fw.lock(() => {
        let denied = false;
        for (let i = 0; i < SHARED_EVENTS.length; i++) {
          if (unregister(fw, core, fw.sharedEvent(i)) === SDEI_RET.PENDING) denied = true;
        }
        // TF-A sdei_shared_reset: a running shared event ends the call before any binding is released.
        if (denied) return SDEI_RET.DENIED;
        // Release every dynamic binding whose event is unregistered everywhere.
        for (const d of [...PRIVATE_EVENTS, ...SHARED_EVENTS]) {
          if (!d.dynamic || fw.boundIntid(d) < 0) continue;
          const e = fw.event(pe, d.num)!;
          // As INTERRUPT_RELEASE: DENIED while registered somewhere or while the interrupt is active.
          if (unregisteredEverywhere(fw, e) && !intActive(fw, pe, e.intid)) releaseBinding(fw, e, pe);
          else denied = true;
        }
        return denied ? SDEI_RET.DENIED : SDEI_RET.SUCCESS;
      }));
    }

    default:
      return ret(core, SDEI_RET.NOT_SUPPORTED);
  }
}

function withSharedLock(fw: FirmwareState, e: EventInstance, fn: () => number): number {
  return e.def.shared ? fw.lock(fn) : fn();
}

/**
 * UNREGISTER always also disables; while the handler runs it is deferred to
 * completion (PENDING). TF-A sdei_event_unregister: a bound interrupt is
 * disabled, its pending state cleared (not for SGIs) and handed back to the
 * Non-secure world at the lowest priority, running handler or not.
 */
function unregister(fw: FirmwareState, core: CpuCore, e: EventInstance): number {
  const before = e.state;
  const next = nextState(before, A.UNREGISTER);
  if (next === PEND) return SDEI_RET.PENDING;
  if (next === DENY) return SDEI_RET.DENIED;
  e.state = next;
  if (e.intid >= 0 && e.def.num !== 0) returnToNonSecure(fw, core, e);
  return (before & STATF_RUNNING) ? SDEI_RET.PENDING : SDEI_RET.SUCCESS;
}

/** LOWEST_INTR_PRIORITY of TF-A sdei_main.c. */
const LOWEST_INTR_PRIORITY = 0xff;

function returnToNonSecure(fw: FirmwareState, core: CpuCore, e: EventInstance): void {
  const intid = e.intid;
  const m = fw.m;
  const g = m.gic32;
  if (intid < 32) {
    const pe = e.pe >= 0 ? e.pe : core.cpu;
    Atomics.and(g, m.gicrI(pe, R.ENABLE.index), ~(1 << intid));
    if (intid >= 16) Atomics.and(g, m.gicrI(pe, R.PENDING.index), ~(1 << intid));
    Atomics.or(g, m.gicrI(pe, R.IGROUPR0.index), 1 << intid);
    m.gicU8[m.gicrPrioByte(pe, intid)] = LOWEST_INTR_PRIORITY & implementedMask(core.cfg.priBits);
  } else {
    const s = intid - SPI_BASE;
    Atomics.and(g, D.ENABLE.index, ~(1 << s));
    Atomics.and(g, D.PENDING.index, ~(1 << s));
    Atomics.or(g, D.IGROUPR.index, 1 << s);
    m.gicU8[m.gicdPrioByte(s)] = LOWEST_INTR_PRIORITY & implementedMask(core.cfg.priBits);
  }
  core.recheck = true;
}

function unregisteredEverywhere(fw: FirmwareState, e: EventInstance): boolean {
  if (e.def.shared) return e.state === 0;
  const i = PRIVATE_EVENTS.indexOf(e.def);
  for (let pe = 0; pe < fw.m.ncpus; pe++) if (fw.privateEvent(pe, i).state !== 0) return false;
  return true;
}

/** TF-A sdei_interrupt_release: only the binding goes; the interrupt went back to Non-secure at UNREGISTER. */
function releaseBinding(fw: FirmwareState, e: EventInstance, pe: number): void {
  fw.setBound(e.def, -1);
  void pe;
}

/** Baseline: event 0's SGI disabled by a disabled-event trigger is re-enabled when the event is enabled. */
function reenableAfterEnable(fw: FirmwareState, core: CpuCore, e: EventInstance): void {
  const bits = fw.reenable(core.cpu);
  if (!(bits & 1)) return;
  if (fw.masked(core.cpu)) return; // PE_UNMASK will do it
  fw.setReenable(core.cpu, bits & ~1);
  setIntEnabled(fw, core.cpu, e.intid, true);
  core.recheck = true;
}

/**
 * CPU_OFF with outstanding dispatches. Clean (baseline): the firmware closes
 * every dispatch on the PE (handlers marked not running, interrupts EOId)
 * before powering down. TF-A-faithful (`cpu-off-abandons-sdei`): nothing is
 * done, the records and the active interrupt stay behind.
 */
export function sdeiCpuOff(fw: FirmwareState, core: CpuCore, clean: boolean): void {
  if (!clean) return;
  const pe = core.cpu;
  for (let d = fw.depth(pe) - 1; d >= 0; d--) {
    const rec = fw.dispatch(pe, d);
    const e = fw.event(pe, rec.event);
    if (e) {
      const next = nextState(e.state, A.COMPLETE);
      if (next >= 0) e.state = next;
      if (e.def.shared) e.ownerPe = -1;
    }
    core.gic.endOfInterrupt(rec.intid, GROUP0, true);
  }
  fw.setDepth(pe, 0);
}

/** TF-A sdei_cpu_on_init: private event instances unregistered, the PE masked. */
export function sdeiCpuOnInit(fw: FirmwareState, pe: number): void {
  for (let i = 0; i < PRIVATE_EVENTS.length; i++) {
    const e = fw.privateEvent(pe, i);
    e.state = 0;
    e.entry = 0;
    e.arg = 0;
  }
  fw.setReenable(pe, 0);
  fw.setMasked(pe, true);
}

/** The SPSR for a handler entry at EL1h with D, A, I, F masked (TF-A create_spsr). */
export function handlerSpsr(): number {
  return PSR_MODE_EL1H | PSR_DAIF;
}

export { STATF_RUNNING, F };
