/**
 * The SDEI events this model platform defines (TF-A defines them per platform
 * with SDEI_DEFINE_EVENT_0 / SDEI_PRIVATE_EVENT / SDEI_SHARED_EVENT; see
 * reference/firmware-and-gic.md section 3.3).
 *
 * - Event 0: private, normal, signalable, backed by the Secure SGI 8 at
 *   priority 0x70 (TF-A ARM_SDEI_SGI, PLAT_SDEI_NORMAL_PRI).
 * - 1000-1002 dynamic private, 2000-2002 dynamic shared (TF-A Arm platforms);
 *   dynamic events are always normal priority.
 * - IMPDEF: two statically bound critical events so that critical preemption
 *   can be exercised: 100 private on PPI 23, 200 shared on SPI 48.
 */

export const SDEI_NORMAL_PRI = 0x70; // PLAT_SDEI_NORMAL_PRI
export const SDEI_CRITICAL_PRI = 0x60; // PLAT_SDEI_CRITICAL_PRI
export const SDEI_SGI = 8; // ARM_SDEI_SGI / PLAT_SDEI_SGI_PRIVATE

export interface EventDef {
  readonly num: number;
  readonly shared: boolean;
  readonly critical: boolean;
  readonly signalable: boolean;
  readonly dynamic: boolean;
  /** Statically bound INTID, or -1 for dynamic events (bound with INTERRUPT_BIND). */
  readonly intid: number;
}

export const PRIVATE_EVENTS: readonly EventDef[] = [
  { num: 0, shared: false, critical: false, signalable: true, dynamic: false, intid: SDEI_SGI },
  { num: 100, shared: false, critical: true, signalable: false, dynamic: false, intid: 23 },
  { num: 1000, shared: false, critical: false, signalable: false, dynamic: true, intid: -1 },
  { num: 1001, shared: false, critical: false, signalable: false, dynamic: true, intid: -1 },
  { num: 1002, shared: false, critical: false, signalable: false, dynamic: true, intid: -1 },
];

export const SHARED_EVENTS: readonly EventDef[] = [
  { num: 200, shared: true, critical: true, signalable: false, dynamic: false, intid: 48 },
  { num: 2000, shared: true, critical: false, signalable: false, dynamic: true, intid: -1 },
  { num: 2001, shared: true, critical: false, signalable: false, dynamic: true, intid: -1 },
  { num: 2002, shared: true, critical: false, signalable: false, dynamic: true, intid: -1 },
];

/** Dynamic slots per class, as SDEI_FEATURES(BIND_SLOTS) reports them. */
export const PRIVATE_DYNAMIC_SLOTS = PRIVATE_EVENTS.filter((e) => e.dynamic).length;
export const SHARED_DYNAMIC_SLOTS = SHARED_EVENTS.filter((e) => e.dynamic).length;

export type EventRef = { readonly def: EventDef; readonly index: number };

export function findEvent(num: number): EventRef | null {
  let i = PRIVATE_EVENTS.findIndex((e) => e.num === num);
  if (i >= 0) return { def: PRIVATE_EVENTS[i]!, index: i };
  i = SHARED_EVENTS.findIndex((e) => e.num === num);
  if (i >= 0) return { def: SHARED_EVENTS[i]!, index: i };
  return null;
}
