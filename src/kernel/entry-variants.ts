/**
 * The entry variants (scenario field `kernel.entry`): the arm64 exception
 * exit as three kernels had it (reference linux-stop-paths.md 6.6-6.8).
 * They are orthogonal to the stop-path variant (`kernel.variant`): each is a
 * set of entry functions that replace the default set (ENTRY_FUNCTIONS, the
 * final fix) by kernel name, on top of whatever stop-path variant runs.
 * Likewise the interrupt pipeline (`kernel.irqPipeline`) replaces cpu_do_idle.
 *
 *  - generic-preempt (6.6, the bug): irqentry_exit() preempts; a
 *    synchronous handler calls it after local_daif_mask(), so without
 *    pseudo-NMI preempt_schedule_irq() runs with DAIF = 0b1111 and the next
 *    task inherits D and A. With pseudo-NMI, arch_irqentry_exit_need_resched()
 *    refuses (DAIF != 0): no preemption from synchronous exceptions.
 *  - own-irq-preemption (6.7, first fix): ARCH_HAS_OWN_IRQ_PREEMPTION;
 *    irqentry_exit() never preempts, __el1_irq calls
 *    irqentry_exit_cond_resched() itself: only IRQ exits preempt.
 *  - split-exit (6.8, final fix, the default): arm64_exit_to_kernel_mode
 *    masks I and F only, preempts, then local_daif_mask(); synchronous
 *    handlers preempt too, with D and A as inherited.
 */
import type { GuestFunction } from '../../cpus/isa.js';
import { exit_to_kernel_mode_generic, el1_abort_mask_first, __el1_irq_own_preemption, ENTRY_FUNCTIONS } from './entry.js';
import { cpu_do_idle } from './idle.js';
import { irqentry_exit_preempting } from './entry-common.js';
import { el1_irq_pipelined_epilogue_own_preemption, cpu_do_idle_pipelined } from './pipeline.js';
import { ENTRY_VARIANT_NAMES, DEFAULT_ENTRY, type EntryVariantName, type KernelConfig } from './config.js';
import type { K } from './kernel.js';

export interface EntryVariant {
  readonly name: EntryVariantName;
  /** Reference section. */
  readonly section: string;
  readonly description: string;
  /** Functions replacing the default (split-exit) entry functions of the same name. */
  readonly functions: readonly GuestFunction<K>[];
}

export const ENTRY_VARIANTS: Readonly<Record<EntryVariantName, EntryVariant>> = {
  'generic-preempt': {
    name: 'generic-preempt',
    section: '6.6',
    description: 'generic IRQ entry before the fix: irqentry_exit() preempts, after a synchronous handler\'s local_daif_mask()',
    functions: [irqentry_exit_preempting, exit_to_kernel_mode_generic, el1_abort_mask_first],
  },
  'own-irq-preemption': {
    name: 'own-irq-preemption',
    section: '6.7',
    description: 'ARCH_HAS_OWN_IRQ_PREEMPTION: only __el1_irq preempts, before exit_to_kernel_mode()',
    functions: [exit_to_kernel_mode_generic, el1_abort_mask_first, __el1_irq_own_preemption, el1_irq_pipelined_epilogue_own_preemption],
  },
  'split-exit': {
    name: 'split-exit',
    section: '6.8',
    description: 'arm64_exit_to_kernel_mode(): I and F masked, preempt, then local_daif_mask() (mainline)',
    functions: [],
  },
};

/** The pipeline's replacements (kernel.irqPipeline). */
export const PIPELINE_OVERRIDES: readonly GuestFunction<K>[] = [cpu_do_idle_pipelined];

/** The built-in functions the entry variants and the pipeline may replace (a stop-path variant's own replacement wins). */
const DEFAULTS = new Set<GuestFunction<K>>([...ENTRY_FUNCTIONS, cpu_do_idle] as GuestFunction<K>[]);

/**
 * Applies the entry variant and the pipeline to a resolved function set:
 * each of their functions replaces the built-in function of that name,
 * unless the stop-path variant (or a user variant) replaced it already.
 */
export function applyEntryConfig(functions: readonly GuestFunction<K>[], cfg: Pick<KernelConfig, 'entry' | 'irqPipeline'>): GuestFunction<K>[] {
  const name = cfg.entry ?? DEFAULT_ENTRY;
  const v = ENTRY_VARIANTS[name];
  if (!v) throw new Error(`unknown entry variant '${String(name)}' (known: ${ENTRY_VARIANT_NAMES.join(', ')})`);
  const byName = new Map<string, GuestFunction<K>>();
  for (const f of functions) byName.set(f.name, f);
  const replace = (f: GuestFunction<K>): void => {
    const cur = byName.get(f.name);
    if (cur === undefined || DEFAULTS.has(cur)) byName.set(f.name, f);
  };
  v.functions.forEach(replace);
  if (cfg.irqPipeline) PIPELINE_OVERRIDES.forEach(replace);
  return [...byName.values()];
}
