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
  // Entry-state bookkeeping (src/kernel/entry-common.ts; reference linux-stop-paths 6.2-6.5):
  lockdep_hardirqs_enabled: 0x690, // lockdep's view: 1 while it believes hardirqs are enabled
  lockdep_hardirq_context: 0x694, // lockdep_hardirq_enter/exit nesting
  ct_nesting: 0x698, // context tracking: RCU watching nesting - 1 (zeroed memory: watching; -1: idle EQS)
  tracing_irqs_off: 0x69c, // tracing_irq_cpu: 1 after trace_hardirqs_off
  ftrace_nmi: 0x6a0, // ftrace_nmi_enter/exit nesting
  irqtime_depth: 0x6a4, // account_hardirq_enter/exit nesting
  irqtime_start: 0x6a8, // 64-bit guest ns: when the outermost hardirq accounting began
  irqtime_total: 0x6b0, // 64-bit guest ns of hardirq time accounted
  // Scheduler (src/kernel/sched.ts): a round-robin runqueue of task_struct pointers.
  rq_nr: 0x700,
  rq_idx: 0x704, // index of rq->curr in rq_tasks
  rq_tasks: 0x708, // MAX_RQ_TASKS words
  nr_switches: 0x728,
  entry_work: 0x72c, // a word the entry-test threads update every iteration (watchpoint target)
  uaccess_faults: 0x730, // faults fixed up through the exception table
  hw_breakpoint_hits: 0x734, // hardware breakpoint and watchpoint exceptions handled (perf hw_breakpoint)
  serrors_handled: 0x738, // recoverable SErrors do_serror returned from
  waker_next: 0x740, // 64-bit guest ns: when the entry test's waker sends its next reschedule request
  kthreads: 0x780, // MAX_KTHREADS task_structs of TASK_STRUCT_BYTES
  // Interrupt pipeline (src/kernel/pipeline.ts; Dovetail):
  inband_stall: 0x900, // the in-band stage's stall bit (the virtual interrupt disable flag)
  oob_stage: 0x904, // 1 while out-of-band code runs (current stage is oob)
  inband_log: 0x908, // pending in-band interrupts: bit n = INTID n (SGIs and PPIs)
  oob_timer_next: 0x910, // 64-bit guest ns: next expiry of the out-of-band timer
  // EXT: the model's observation area (src/kernel/observe.ts): written by host-side probes, never
  // by guest instructions; the checkers read it after the run (the trace ring keeps only the newest records).
  obs: 0xa00, // OBS_BYTES
  // EXT: 256 bytes per CPU that no model code touches: for user faults and variants (defineFault,
  // defineVariant) to share state between CPUs, e.g. a flag one CPU sets and another waits for.
  user: 0xf00, // PCPU_USER_BYTES
  size: 0x1000,
} as const;

/** Bytes of the per-CPU user area (PCPU.user). */
export const PCPU_USER_BYTES = 0x100;

/** task_struct slots: the idle task, the role task, the kernel threads. */
export const TASK_STRUCT_BYTES = 0x40;
export const MAX_KTHREADS = 6;
export const MAX_RQ_TASKS = 8;
/** Kernel stack of each kernel thread (kthread_create): pt_regs and frame records of nested exceptions fit easily. */
export const KTHREAD_STACK = 0x2000;

/** struct sdei_registered_event (drivers/firmware/arm_sdei.c, model layout). */
export const SDEI_EV = {
  interrupted_regs: 0x000, // struct pt_regs
  callback: PT_REGS.SIZE, // guest function address
  callback_arg: PT_REGS.SIZE + 8,
  event_num: PT_REGS.SIZE + 16,
  priority: PT_REGS.SIZE + 20,
} as const;

/** struct task_struct (model: the fields the stop paths read). */
export const TASK = { pid: 0x00, flags: 0x04, comm: 0x08, stack: 0x18 } as const;

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
  /** Kernel threads per CPU that have stacks (0 unless the scenario runs the entry test). */
  readonly kthreads: number;
  kthreadStackTop(cpu: number, i: number): number;
}

export function kernelLayout(ncpus: number, textEnd: number, kthreads = 0): KernelLayout {
  if (!Number.isInteger(kthreads) || kthreads < 0 || kthreads > MAX_KTHREADS) throw new Error(`kthreads ${kthreads} out of range 0..${MAX_KTHREADS}`);
  const data = Math.ceil(textEnd / PAGE_SIZE) * PAGE_SIZE;
  const log = data + PAGE_SIZE;
  const percpuBase = log + LOG_RECORDS * LOG_RECORD_BYTES;
  const stacksBase = percpuBase + ncpus * PCPU.size;
  const kthreadBase = stacksBase + ncpus * CPU_STACKS;
  const end = kthreadBase + ncpus * kthreads * KTHREAD_STACK;
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
    kthreads,
    kthreadStackTop: (cpu, i) => kthreadBase + (cpu * kthreads + i + 1) * KTHREAD_STACK,
  };
}
