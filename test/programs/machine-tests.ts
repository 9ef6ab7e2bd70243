/**
 * Guest programs for the machine-core tests (test/machine.test.ts). Each runs
 * on every CPU after the runtime has brought the machine up; results are left
 * in guest memory at the addresses the runtime's Layout gives.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { mpidrOf } from '../../cpus/layout.js';
import { SDEI } from '../../firmware/sdei/main.js';
import { GICR_BASE, GICR_STRIDE, GICR_SGI_OFFSET } from '../../src/machine/memory.js';
import type { GuestProgram, ProgramGeometry } from '../../src/machine/program.js';
import { testProgram, waitWord, waitIrqWord, sendSgi, G, PC, PSCI_SYSTEM_OFF, type TCtx, type TestOptions, type MainBody } from './runtime.js';


function* off(t: TCtx): Guest<void> {
  yield t.c.smc(PSCI_SYSTEM_OFF);
}

/** CPU 0 waits until every CPU has incremented DONE, then powers the machine off. */
function* finish(t: TCtx): Guest<void> {
  yield t.c.ldadd(t.L.glob(G.DONE), 1);
  if (t.cpu === 0) {
    yield* waitWord(t, t.L.glob(G.DONE), (v) => v === t.L.ncpus);
    yield* off(t);
  }
}

/** Every CPU sends SGI 1 to every other CPU, with a mailbox bit so coalesced SGIs still count exactly. */
const sgiAll: MainBody = function* (t) {
  const c = t.c;
  const n = t.L.ncpus;
  yield c.daifClr(3);
  for (let j = 0; j < n; j++) {
    if (j === t.cpu) continue;
    yield c.ldset(t.L.cpu(j, PC.MAILBOX + 4 * (t.cpu >> 5)), 1 << (t.cpu & 31));
    yield* sendSgi(t, j, 1);
  }
  yield* waitIrqWord(t, t.L.cpu(t.cpu, PC.RECEIVED), (v) => v === n - 1);
  yield* finish(t);
};

/** An SGI is not taken while PSTATE.I is set, and is taken at the first boundary after DAIFClr. */
const mask: MainBody = function* (t) {
  const c = t.c;
  if (t.cpu === 0) {
    yield c.msr(SYS.DAIF, 0x80); // only I set
    yield c.str(t.L.glob(G.READY), 1);
    const ispendr = GICR_BASE + GICR_SGI_OFFSET + 0x200;
    for (;;) {
      // WFI wakes on a signalled interrupt even though PSTATE.I masks it.
      if (((yield c.ldr(ispendr)) & 2) !== 0) break;
      yield c.wfi();
    }
    const b = t.L.cpu(0, PC.SCRATCH);
    yield c.str(b, yield c.ldr(t.L.cpu(0, PC.IRQS))); // IRQs taken while masked
    const pcA = yield c.adr();
    yield c.daifClr(2);
    yield c.nop();
    yield c.str64(b + 8, pcA);
    yield* off(t);
  } else if (t.cpu === 1) {
    yield* waitWord(t, t.L.glob(G.READY), (v) => v === 1);
    yield* sendSgi(t, 0, 1);
  }
};

/**
 * Mask writes that only keep or add masking take nothing; the first unmasking
 * write takes the pending interrupt at the next boundary. Through MSR DAIF
 * (local_irq_restore) and through ICC_PMR_EL1 (pseudo-NMI's irqsave/restore).
 */
const maskWrites: MainBody = function* (t) {
  const c = t.c;
  if (t.cpu === 0) {
    const sgi = GICR_BASE + GICR_SGI_OFFSET;
    const b = t.L.cpu(0, PC.SCRATCH);
    yield c.strb(sgi + 0x400 + 3, 0xc0); // SGI 3 at 0xc0, for the PMR part
    yield c.msr(SYS.DAIF, 0x80); // only I set
    yield c.str(t.L.glob(G.READY), 1);
    for (;;) {
      if (((yield c.ldr(sgi + 0x200)) & 4) !== 0) break; // SGI 2 pending
      yield c.wfi();
    }
    yield c.msr(SYS.DAIF, 0x3c0); // D, A, I, F: more masking
    yield c.msr(SYS.DAIF, 0x80); // the same masking again
    yield c.nop();
    yield c.str(b, yield c.ldr(t.L.cpu(0, PC.IRQS)));
    const pcA = yield c.adr();
    yield c.msr(SYS.DAIF, 0x40); // clears I (F stays set): SGI 2 is taken before the next instruction
    yield c.nop();
    yield c.str(b + 4, yield c.ldr(t.L.cpu(0, PC.IRQS)));
    yield c.str64(b + 16, pcA);
    yield c.str64(b + 24, yield c.ldr64(t.L.cpu(0, PC.ELR))); // the SGI 2 exception's ELR
    // Pseudo-NMI style: PSTATE.I clear, masking by PMR.
    yield c.msr(SYS.ICC_PMR_EL1, 0x80); // masks 0xc0
    yield c.msr(SYS.DAIF, 0);
    yield c.str(t.L.glob(G.READY), 2);
    for (;;) {
      if (((yield c.ldr(sgi + 0x200)) & 8) !== 0) break; // SGI 3 pending
      // Not WFI: an interrupt the PMR masks is not signalled, so it would not wake it (Linux's
      // pseudo-NMI idle raises the PMR around WFI for this reason).
      yield c.waitUntil((yield c.now()) + 1000);
    }
    yield c.msr(SYS.ICC_PMR_EL1, 0x60); // more masking
    yield c.msr(SYS.ICC_PMR_EL1, 0x80); // the same masking again
    yield c.nop();
    yield c.str(b + 8, yield c.ldr(t.L.cpu(0, PC.COUNTS + 4 * 3)));
    yield c.msr(SYS.ICC_PMR_EL1, 0xf0); // unmasks 0xc0
    yield c.nop();
    yield c.str(b + 12, yield c.ldr(t.L.cpu(0, PC.COUNTS + 4 * 3)));
    yield* off(t);
  } else if (t.cpu === 1) {
    yield* waitWord(t, t.L.glob(G.READY), (v) => v === 1);
    yield* sendSgi(t, 0, 2);
    yield* waitWord(t, t.L.glob(G.READY), (v) => v === 2);
    yield* sendSgi(t, 0, 3);
  }
};

/**
 * A run of 200 NOPs with IRQs enabled while CPU 1 sends SGI 1 into it: as one
 * `nops(200)` (option `run: true`) or as 200 `nop()`s. CPU 0 records the
 * run's first PC, the IRQ count at the end of the run, and the SGI's ELR.
 */
const nopRun: MainBody = function* (t) {
  const c = t.c;
  if (t.cpu === 0) {
    const b = t.L.cpu(0, PC.SCRATCH);
    yield c.daifClr(2);
    yield c.str(t.L.glob(G.READY), 1);
    const pcA = yield c.adr();
    if (t.opts.run === true) yield c.nops(typeof t.opts.count === 'number' ? t.opts.count : 200);
    else for (let i = 0; i < 200; i++) yield c.nop();
    yield c.str64(b, pcA);
    yield c.str(b + 8, yield c.ldr(t.L.cpu(0, PC.IRQS))); // IRQs taken by the end of the run
    yield* waitIrqWord(t, t.L.cpu(0, PC.IRQS), (v) => v === 1); // the threads engine may send it later
    yield c.str64(b + 16, yield c.ldr64(t.L.cpu(0, PC.ELR)));
    yield* off(t);
  } else if (t.cpu === 1) {
    yield* waitWord(t, t.L.glob(G.READY), (v) => v === 1);
    for (let i = 0; i < 40; i++) yield c.nop();
    yield* sendSgi(t, 0, 1);
  }
};

/** Pseudo-NMI priorities (reference linux-stop-paths 5.3): PMR 0xc0 masks 0xc0 but not 0x80; PMR 0xe0 passes both. */
const pmr: MainBody = function* (t) {
  const c = t.c;
  if (t.cpu === 0) {
    const sgi = GICR_BASE + GICR_SGI_OFFSET;
    yield c.strb(sgi + 0x400 + 2, 0xc0); // SGI 2: default IRQ priority
    yield c.strb(sgi + 0x400 + 3, 0x80); // SGI 3: NMI priority
    yield c.msr(SYS.ICC_PMR_EL1, 0xc0);
    yield c.daifClr(3); // pseudo-NMI style: PSTATE.I clear, masking by PMR
    yield c.str(t.L.glob(G.READY), 1);
    const cnt = (i: number): number => t.L.cpu(0, PC.COUNTS + 4 * i);
    yield* waitIrqWord(t, cnt(3), (v) => v === 1);
    const b = t.L.cpu(0, PC.SCRATCH);
    // Wait until SGI 2 is pending too (CPU 1 sends it first, but be robust to ordering).
    for (;;) {
      const p = yield c.ldr(sgi + 0x200);
      if (p & 4) break;
      yield c.waitUntil((yield c.now()) + 1000);
    }
    yield c.str(b, yield c.ldr(sgi + 0x200));
    yield c.str(b + 4, yield c.ldr(cnt(2)));
    yield c.str(b + 8, yield c.mrs(SYS.ICC_PMR_EL1));
    yield c.msr(SYS.ICC_PMR_EL1, 0xe0);
    yield* waitIrqWord(t, cnt(2), (v) => v === 1);
    yield* off(t);
  } else if (t.cpu === 1) {
    yield* waitWord(t, t.L.glob(G.READY), (v) => v === 1);
    yield* sendSgi(t, 0, 2);
    yield* sendSgi(t, 0, 3);
  }
};

/** A Group 0 SGI routed to EL3 (the SDEI event-0 SGI) is taken by a CPU with DAIF all set at EL1. */
const group0: MainBody = function* (t) {
  const c = t.c;
  if (t.cpu === 0) {
    const r1 = yield c.smc(SDEI.EVENT_REGISTER, 0, t.fn.test_sdei_handler!.base, 0x1234, 0, 0);
    const r2 = yield c.smc(SDEI.EVENT_ENABLE, 0);
    const r3 = yield c.smc(SDEI.PE_UNMASK);
    const b = t.L.cpu(0, PC.SCRATCH);
    yield c.str(b, r1);
    yield c.str(b + 4, r2);
    yield c.str(b + 8, r3);
    yield c.daifSet(0xf);
    yield c.bl(t.fn.spin_masked!);
    yield* off(t);
  } else if (t.cpu === 1) {
    yield* waitWord(t, t.L.glob(G.READY), (v) => v === 1);
    const r = yield c.smc(SDEI.EVENT_SIGNAL, 0, mpidrOf(0) & 0xffffff);
    yield c.str(t.L.cpu(1, PC.SCRATCH), r);
  }
};

/** Spins with DAIF masked until the SDEI handler has run (counted in G.RESULT). */
const spinMasked = guestFn<TCtx>('spin_masked', function* (t) {
  const c = t.c;
  yield c.str(t.L.glob(G.READY), 1);
  const top = c.label();
  for (;;) {
    const v = yield c.ldxr(t.L.glob(G.RESULT));
    if (v !== 0) return 0;
    yield c.wfe();
    yield c.b(top);
  }
}, { size: 16 });

/**
 * Nested exceptions: an IRQ handler re-enables interrupts and a higher-priority
 * SGI nests inside it; afterwards x19-x28, SP and PSTATE of the interrupted
 * code are intact, and each frame's pt_regs were saved.
 */
const nested: MainBody = function* (t) {
  const c = t.c;
  if (t.cpu === 0) {
    const sgi = GICR_BASE + GICR_SGI_OFFSET;
    yield c.strb(sgi + 0x400 + 3, 0x80); // SGI 3 at a higher priority than SGI 1 (0xc0)
    for (let r = 19; r <= 28; r++) yield c.mov(r, 0x1000 + r);
    const b = t.L.cpu(0, PC.SCRATCH);
    yield c.str64(b, c.sp);
    yield c.msr(SYS.DAIF, 0);
    yield c.str(t.L.glob(G.READY), 1);
    yield* waitIrqWord(t, t.L.glob(G.PHASE), (v) => v === 2);
    let ok = 1;
    for (let r = 19; r <= 28; r++) if (c.x(r) !== 0x1000 + r) ok = 0;
    yield c.str(b + 8, ok);
    yield c.str64(b + 16, c.sp);
    yield c.str(b + 24, yield c.mrs(SYS.DAIF));
    yield* off(t);
  } else if (t.cpu === 1) {
    yield* waitWord(t, t.L.glob(G.READY), (v) => v === 1);
    yield* sendSgi(t, 0, 1);
    yield* waitWord(t, t.L.glob(G.PHASE), (v) => v === 1);
    yield* sendSgi(t, 0, 3);
  }
};

/** irq_hook for `nested`: inside SGI 1, unmask and wait for SGI 3 to nest; record both frames. */
const nestedHook = guestFn<TCtx>('irq_hook', function* (t, intid) {
  const c = t.c;
  if (t.opts.test !== 'nested' || t.cpu !== 0) return 0;
  const b = t.L.cpu(0, PC.SCRATCH);
  if (intid === 1) {
    yield c.str64(b + 32, c.sp); // SP inside the outer handler (below the outer pt_regs)
    yield c.str(t.L.glob(G.PHASE), 1);
    yield* waitIrqWord(t, t.L.cpu(0, PC.COUNTS + 12), (v) => v === 1);
    yield c.daifSet(2);
    yield c.str(b + 40, yield c.ldr(t.L.cpu(0, PC.IRQS)));
    yield c.str(t.L.glob(G.PHASE), 2);
  } else if (intid === 3) {
    yield c.str64(b + 48, yield c.mrs(SYS.ELR_EL1)); // inside the outer handler
    yield c.str(b + 56, yield c.mrs(SYS.SPSR_EL1));
  }
  return 0;
}, { size: 64 });

/** A load from address 0 is a synchronous data abort with FAR = 0 taken through the vector. */
const nullDeref: MainBody = function* (t) {
  const c = t.c;
  if (t.cpu !== 0) return;
  const pcA = yield c.adr();
  yield c.str64(t.L.cpu(0, PC.SCRATCH), pcA);
  const v = yield c.ldr(0);
  yield c.str(t.L.cpu(0, PC.SCRATCH + 8), v);
};

/** A racy read-modify-write of a shared counter (lost updates depend on the interleaving). */
const race: MainBody = function* (t) {
  const c = t.c;
  const n = (t.opts.iterations as number | undefined) ?? 50;
  const ctr = t.L.glob(G.COUNTER);
  for (let i = 0; i < n; i++) {
    const v = yield c.ldr(ctr);
    yield c.nop();
    yield c.str(ctr, v + 1);
  }
  yield* finish(t);
};

/** Every CPU waits forever: the machine must be reported hung. */
const hang: MainBody = function* (t) {
  const c = t.c;
  yield c.daifSet(0xf);
  const top = c.label();
  for (;;) {
    yield c.wfi();
    yield c.b(top);
  }
};

/** One busy CPU: a tight loop of plain instructions (for throughput measurement), then power off. */
const busy: MainBody = function* (t) {
  const c = t.c;
  if (t.cpu !== 0) return;
  const n = (t.opts.iterations as number | undefined) ?? 1_000_000;
  for (let i = 0; i < n; i++) yield c.nop();
  yield* off(t);
};

/**
 * A token passed round the ring of CPUs `iterations` times: each CPU sleeps in
 * WFE on the token word until it holds its number, counts the hand-off and
 * passes it on. Every hand-off wakes a sleeping CPU, so this exercises the
 * wake protocol (runstate.ts) thousands of times a run.
 */
const relay: MainBody = function* (t) {
  const c = t.c;
  const n = t.L.ncpus;
  const rounds = (t.opts.iterations as number | undefined) ?? 500;
  const token = t.L.glob(G.COUNTER);
  const mine = t.L.cpu(t.cpu, PC.SCRATCH);
  for (let r = 0; r < rounds; r++) {
    yield* waitWord(t, token, (v) => v === t.cpu);
    yield c.str(mine, r + 1);
    yield c.str(token, (t.cpu + 1) % n);
  }
  yield* finish(t);
};

const TESTS: Record<string, MainBody> = { 'sgi-all': sgiAll, mask, 'mask-writes': maskWrites, 'nop-run': nopRun, pmr, group0, nested, null: nullDeref, race, hang, busy, relay };

export default function machineTest(opts: TestOptions, geometry: ProgramGeometry): GuestProgram<TCtx> {
  const body = TESTS[opts.test];
  if (!body) throw new Error(`unknown machine test '${opts.test}'`);
  return testProgram(opts, geometry.ncpus, body, [spinMasked, nestedHook]);
}
