/**
 * Where the kernel model keeps its data in guest RAM (the model's vmlinux
 * data and per-CPU sections). Kernel text is the synthetic image placed at
 * RAM_BASE + TEXT_OFFSET; data, the log buffer, per-CPU areas and stacks follow.
 */
import { RAM_BASE, PAGE_SIZE } from '../machine/memory.js';
import { CRASH_NOTE_BYTES } from '../vmcore/prstatus.js';
import { PT_REGS } from '../../cpus/ptregs.js';

export const TEXT_OFFSET = 0x20_0000;
export const TEXT_BASE = RAM_BASE + TEXT_OFFSET;

/** Kernel globals (byte offsets in the data page). */
export const GV = {
  cpu_online_mask: 0x000, // 16 words: 512 bits
  __num_online_cpus: 0x040,
  stop_in_progress: 0x044, // bit 0 (smp_send_stop's static unsigned long)
  crash_stop: 0x048,
  panic_cpu: 0x04c, // atomic_t, PANIC_CPU_INVALID = -1
  sdei_nmi_stopping: 0x050,
  sdei_nmi_available: 0x054,
  sdei_present: 0x058, // the SDEI firmware call pointer is set
  kexec_lock: 0x05c,
  kexec_crash_image: 0x060, // non-zero when a crash kernel is loaded
  system_state: 0x064,
  oops_in_progress: 0x068,
  die_lock: 0x06c,
  boot_done_time: 0x070, // 64-bit guest ns: when the system reached SYSTEM_RUNNING
  workload_lock: 0x078, // a ticket spinlock the workload tasks share
  sdei_registered_event_0: 0x07c, // non-zero once event 0 is registered (sdei_event_register)
  stop_mask: 0x080, // 16 words: smp_send_stop's static cpumask
  call_function_lock: 0x0c0,
  vmcoreinfo_crashtime: 0x0c8, // 64-bit
  log_head: 0x100, // next log record index (atomic)
  cpus_up: 0x104, // secondaries that finished secondary_start_kernel
  hotplug_count: 0x108,
  roles_ready: 0x10c, // role CPUs whose faults at t <= 0 are in place
  plan_t0_published: 0x110, // non-zero once plan_t0 is valid
  plan_t0: 0x118, // 64-bit guest ns: the scenario's time origin
} as const;

/** enum system_states (include/linux/kernel.h). */
export const SYSTEM = {
  BOOTING: 0,
  SCHEDULING: 1,
  FREEING_INITMEM: 2,
  RUNNING: 3,
  HALT: 4,
  POWER_OFF: 5,
  RESTART: 6,
  SUSPEND: 7,
} as const;

/** Per-CPU area (byte offsets). crash_notes first: aligned, never crossing a page. */
export const PCPU = {
  crash_notes: 0x000, // CRASH_NOTE_BYTES (424)
  irq_regs: 0x200, // set_irq_regs / get_irq_regs
  current: 0x204, // task_struct pointer
  sdei_active_normal_event: 0x208,
  sdei_active_critical_event: 0x20c,
  preempt_count: 0x210,
  csd_func: 0x220, // call-function data: function id (index in image), 0 when free
  csd_arg: 0x224,
  csd_done: 0x228,
  ipi_count: 0x230, // 8 words: IPIs handled per type
  sdei_event: 0x300, // struct sdei_registered_event for event 0 on this CPU
  idle_task: 0x600, // task_struct (model: pid and flags)
  role_task: 0x640,
  need_resched: 0x680,
  role_ready: 0x684,
  size: 0x1000,
} as const;

/** struct sdei_registered_event (drivers/firmware/arm_sdei.c, model layout). */
export const SDEI_EV = {
  interrupted_regs: 0x000, // struct pt_regs
  callback: PT_REGS.SIZE, // guest function address
  callback_arg: PT_REGS.SIZE + 8,
  event_num: PT_REGS.SIZE + 16,
  priority: PT_REGS.SIZE + 20,
} as const;

/** struct task_struct (model: the fields the stop paths read). */
export const TASK = { pid: 0x00, flags: 0x04, comm: 0x08 } as const;

export const LOG_RECORDS = 1024;
export const LOG_RECORD_BYTES = 128;
export const LOG_TEXT_MAX = 96;
/** Log record fields. */
export const LOGREC = { seq: 0, level: 4, cpu: 8, len: 12, time: 16, text: 32 } as const;

export const TASK_STACK = 0x4000;
export const IRQ_STACK = 0x4000;
export const SDEI_STACK = 0x2000;
export const CPU_STACKS = TASK_STACK + IRQ_STACK + 2 * SDEI_STACK;

export interface KernelLayout {
  readonly ncpus: number;
  readonly data: number;
  readonly log: number;
  readonly percpuBase: number;
  readonly stacksBase: number;
  readonly ramBytes: number;
  g(off: number): number;
  pcpu(cpu: number, off: number): number;
  crashNotes(cpu: number): number;
  logRecord(i: number): number;
  taskStackTop(cpu: number): number;
  irqStackTop(cpu: number): number;
  irqStackBase(cpu: number): number;
  sdeiStackTop(cpu: number, critical: boolean): number;
}

export function kernelLayout(ncpus: number, textEnd: number): KernelLayout {
  const data = Math.ceil(textEnd / PAGE_SIZE) * PAGE_SIZE;
  const log = data + PAGE_SIZE;
  const percpuBase = log + LOG_RECORDS * LOG_RECORD_BYTES;
  const stacksBase = percpuBase + ncpus * PCPU.size;
  const end = stacksBase + ncpus * CPU_STACKS;
  if (CRASH_NOTE_BYTES > PCPU.irq_regs) throw new Error('crash_notes overlaps the per-CPU area');
  const stacks = (cpu: number): number => stacksBase + cpu * CPU_STACKS;
  return {
    ncpus, data, log, percpuBase, stacksBase,
    ramBytes: Math.ceil((end - RAM_BASE) / PAGE_SIZE) * PAGE_SIZE,
    g: (off) => data + off,
    pcpu: (cpu, off) => percpuBase + cpu * PCPU.size + off,
    crashNotes: (cpu) => percpuBase + cpu * PCPU.size + PCPU.crash_notes,
    logRecord: (i) => log + (i % LOG_RECORDS) * LOG_RECORD_BYTES,
    taskStackTop: (cpu) => stacks(cpu) + TASK_STACK,
    irqStackBase: (cpu) => stacks(cpu) + TASK_STACK,
    irqStackTop: (cpu) => stacks(cpu) + TASK_STACK + IRQ_STACK,
    sdeiStackTop: (cpu, critical) => stacks(cpu) + TASK_STACK + IRQ_STACK + (critical ? 2 : 1) * SDEI_STACK,
  };
}
