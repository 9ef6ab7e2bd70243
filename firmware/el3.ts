/**
 * The EL3 firmware model: what runs when a PE executes SMC, takes a Group 0
 * FIQ, wakes at EL3, or is powered on. It is host code run inside the
 * instruction that entered EL3, on the PE's own thread (fast SMCs are atomic
 * for the caller, reference section 1.2), acting on shared firmware and GIC
 * state so that one PE's call can affect another (CPU_ON, EVENT_SIGNAL).
 */
import { EL3_ERET, EL3_STAY, type CpuCore, type El3Handler } from '../cpus/core.js';
import { CpuLayout, POWER_ON, POWER_OFF, RUN_OFF, SCR_NS, SCR_FIQ, mpidrOf } from '../cpus/layout.js';
import { PSR_MODE_EL1H, PSR_DAIF } from '../cpus/pstate.js';
import { decodeFid, arg32, SMC_UNK, SMCCC_VERSION, SMCCC_ARCH_FEATURES, SMCCC_VERSION_1_5, SMCCC_SVE_HINT, OEN_ARCH, OEN_STD } from './smccc.js';
import { psciCall, isPsciFid, PSCI_RET } from './psci.js';
import { sdeiCall, isSdeiFid, sdeiCpuOnInit } from './sdei/main.js';
import { sdeiFiq } from './sdei/dispatch.js';
import { FirmwareState } from './state.js';
import { FirmwareLayout } from './layout.js';
import { PRIVATE_EVENTS, SHARED_EVENTS, SDEI_NORMAL_PRI, SDEI_SGI } from './sdei/events.js';
import {
  RedistributorLayout, DistributorLayout, NSPI, GICD_CTLR_ENABLE_G0, GICD_CTLR_ENABLE_G1NS, GICD_CTLR_ENABLE_G1S,
  GICD_CTLR_ARE_S, GICD_CTLR_ARE_NS,
} from '../src/gic/layout.js';
import { implementedMask } from '../src/gic/priority.js';
import type { MachineShared } from '../src/machine/shared.js';
import type { FirmwareConfig } from './quirks.js';

const F = CpuLayout.fields;
const R = RedistributorLayout.fields;
const D = DistributorLayout.fields;

/**
 * EXT: a Silicon-Provider call of the model platform that keeps the caller at
 * EL3 for x1 guest ns (x1 = -1: forever). It stands for a slow or stuck
 * firmware service (RAS handling, a hung SMC) and implements the
 * `in-firmware` wedge. Returns 0.
 */
export const SIP_SMPSTOP_STALL = 0xc200_ff00;

export class Firmware implements El3Handler {
  readonly state: FirmwareState;

  constructor(m: MachineShared, config: FirmwareConfig) {
    this.state = new FirmwareState(m, config);
  }

  smc(core: CpuCore): number {
    const d = decodeFid(core.x(0));
    if (!d.fast || !d.reservedOk) return unknown(core);
    // SMCCC 1.3: the SVE live-state hint (bit 16) is not part of the function id; TF-A
    // common/runtime_svc.c sync_handler clears it before looking up the service.
    const fid = (d.fid & ~SMCCC_SVE_HINT) >>> 0;
    if (d.oen === OEN_ARCH) {
      if (fid === SMCCC_VERSION) { core.setX(0, SMCCC_VERSION_1_5); return EL3_ERET; }
      if (fid === SMCCC_ARCH_FEATURES) {
        const q = arg32(core.x(1));
        // TF-A arm_arch_svc smccc_arch_features: SMCCC_VERSION and SMCCC_ARCH_FEATURES itself are
        // implemented; no workaround is needed on the model's CPUs (NOT_SUPPORTED).
        core.setX(0, q === SMCCC_VERSION || q === SMCCC_ARCH_FEATURES ? 0 : SMC_UNK);
        return EL3_ERET;
      }
      return unknown(core);
    }
    if (d.oen === OEN_STD) {
      if (isSdeiFid(fid)) return sdeiCall(this.state, core, fid);
      if (isPsciFid(fid)) return psciCall(this.state, core, fid);
      return unknown(core);
    }
    if (fid === SIP_SMPSTOP_STALL) {
      const dur = core.x(1);
      const until = dur < 0 ? Infinity : core.clock.now() + dur;
      this.state.setWedgedUntil(core.cpu, until);
      core.setX(0, 0);
      core.el3StayUntil(until);
      return EL3_STAY;
    }
    return unknown(core);
  }

  fiq(core: CpuCore): number {
    return sdeiFiq(this.state, core);
  }

  wedgeEnd(core: CpuCore): number {
    const fw = this.state;
    const pe = core.cpu;
    const kind = fw.suspendKind(pe);
    if (kind === 0) {
      fw.setWedgedUntil(pe, 0);
      return EL3_ERET; // x0 was set when the stall began
    }
    // Read the resume entry point before clearing the suspend record.
    const entry = fw.suspendEntry(pe);
    const ctx = fw.suspendCtx(pe);
    fw.setSuspend(pe, 0);
    if (kind === 1) {
      core.setX(0, PSCI_RET.SUCCESS); // standby: return to the caller
      return EL3_ERET;
    }
    // Power-down suspend: warm boot at the resume entry; the PE wakes SDEI-masked (TF-A sdei_cpu_wakeup_init).
    core.el3DiscardContexts();
    warmBootCpuInterface(core);
    fw.setMasked(pe, true);
    enterNonSecure(core, entry, ctx);
    return EL3_ERET;
  }

  warmBoot(core: CpuCore): number {
    const fw = this.state;
    const pe = core.cpu;
    const m = core.m;
    redistributorDefaults(m, pe, core.cfg.priBits);
    warmBootCpuInterface(core);
    m.cpu32[m.cpuI(pe, F.SCTLR_EL1.index)] = 0;
    m.cpu32[m.cpuI(pe, F.CNTV_CTL.index)] = 0;
    m.cpu32[m.cpuI(pe, F.EVENT_REG.index)] = 0;
    sdeiCpuOnInit(fw, pe);
    // TF-A psci_set_pwr_domains_to_run: ON just before exiting to the Non-secure entry point.
    Atomics.store(m.cpu32, m.cpuI(pe, F.POWER.index), POWER_ON);
    enterNonSecure(core, fw.psciEntry(pe), fw.psciContext(pe));
    return EL3_ERET;
  }
}

function unknown(core: CpuCore): number {
  core.setX(0, SMC_UNK);
  return EL3_ERET;
}

/** CPU_ON / resume entry state (reference section 2.4): EL1h, DAIF = 1111, x0 = context id. */
function enterNonSecure(core: CpuCore, entry: number, ctx: number): void {
  const m = core.m;
  const pe = core.cpu;
  m.cpuF64[m.cpuF(pe, F.ELR_EL3.index)] = entry;
  m.cpu32[m.cpuI(pe, F.SPSR_EL3.index)] = PSR_MODE_EL1H | PSR_DAIF;
  core.setX(0, ctx);
  for (let i = 1; i < 31; i++) core.setX(i, 0);
}

function warmBootCpuInterface(core: CpuCore): void {
  const m = core.m;
  core.gic.resetAndEnableByFirmware();
  // SCR_EL3: Non-secure lower ELs, FIQ (Group 0) routed to EL3, IRQ to EL1 (TF-A EHF routing).
  m.cpu32[m.cpuI(core.cpu, F.SCR_EL3.index)] = SCR_NS | SCR_FIQ;
  core.recheck = true;
}

/**
 * TF-A gicv3_rdistif_init / gicv3_ppi_sgi_config_defaults: every SGI and PPI
 * disabled, Group 1 Non-secure, priority 0x80, PPIs level-sensitive; then the
 * platform's Secure SGIs: SGI 8 (SDEI) Group 0 at 0x70, enabled; SGIs 9-15
 * Group 1 Secure at 0x00, unused. Pending and active bits are left alone.
 */
export function redistributorDefaults(m: MachineShared, pe: number, priBits: number): void {
  const g = m.gic32;
  Atomics.store(g, m.gicrI(pe, R.ENABLE.index), 0);
  Atomics.store(g, m.gicrI(pe, R.IGROUPR0.index), ~0xff00);
  Atomics.store(g, m.gicrI(pe, R.IGRPMODR0.index), 0xfe00);
  Atomics.store(g, m.gicrI(pe, R.LEVEL.index), 0xffff0000 | 0);
  Atomics.store(g, m.gicrI(pe, R.NMI.index), 0);
  Atomics.store(g, m.gicrI(pe, R.WAKER.index), 0);
  const mask = implementedMask(priBits);
  for (let i = 0; i < 32; i++) m.gicU8[m.gicrPrioByte(pe, i)] = 0x80 & mask;
  for (let i = 9; i < 16; i++) m.gicU8[m.gicrPrioByte(pe, i)] = 0x00;
  m.gicU8[m.gicrPrioByte(pe, SDEI_SGI)] = SDEI_NORMAL_PRI & mask;
  Atomics.or(g, m.gicrI(pe, R.ENABLE.index), 1 << SDEI_SGI);
}

/**
 * Cold boot of the platform, done once by the controller before any CPU runs
 * (TF-A BL31 gicv3_distif_init + sdei_init): distributor on with affinity
 * routing, every SPI Group 1 Non-secure at 0x80, level-sensitive, routed to
 * CPU 0; no dynamic SDEI binding; every PE off, SDEI-masked.
 */
export function firmwareColdBoot(m: MachineShared, priBits: number): void {
  const g = m.gic32;
  Atomics.store(g, D.CTLR.index, GICD_CTLR_ENABLE_G0 | GICD_CTLR_ENABLE_G1NS | GICD_CTLR_ENABLE_G1S | GICD_CTLR_ARE_S | GICD_CTLR_ARE_NS);
  Atomics.store(g, D.IGROUPR.index, -1);
  Atomics.store(g, D.IGRPMODR.index, 0);
  Atomics.store(g, D.ENABLE.index, 0);
  Atomics.store(g, D.LEVEL.index, -1);
  for (let s = 0; s < NSPI; s++) {
    m.gicU8[m.gicdPrioByte(s)] = 0x80 & implementedMask(priBits);
    Atomics.store(g, D.IROUTER.index + s, 0);
  }
  for (let i = 0; i < PRIVATE_EVENTS.length + SHARED_EVENTS.length; i++) Atomics.store(m.fw32, FirmwareLayout.fields.BIND_MAP.index + i, -1);
  const fw = new FirmwareState(m, { sdei: true, quirks: [] });
  for (let i = 0; i < SHARED_EVENTS.length; i++) {
    const e = fw.sharedEvent(i);
    e.state = 0;
    e.ownerPe = -1;
  }
  for (let pe = 0; pe < m.ncpus; pe++) {
    fw.setMasked(pe, true);
    Atomics.store(m.cpu32, m.cpuI(pe, F.POWER.index), POWER_OFF);
    Atomics.store(m.cpu32, m.cpuI(pe, F.RUNSTATE.index), RUN_OFF);
    Atomics.store(m.cpu32, m.cpuI(pe, F.MPIDR_EL1.index), mpidrOf(pe) | 0);
    m.cpuF64[m.cpuF(pe, F.WAKE_DEADLINE.index)] = Infinity;
    redistributorDefaults(m, pe, priBits);
    Atomics.store(g, m.gicrI(pe, R.WAKER.index), 6); // asleep until its CPU comes up
  }
}
