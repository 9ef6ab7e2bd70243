/**
 * Firmware (EL3) state in shared memory: per-PE PSCI and SDEI state, the
 * shared SDEI events, and the per-PE SDEI dispatch records. EL3 code runs on
 * the calling CPU's thread but may touch another PE's entry (CPU_ON,
 * EVENT_SIGNAL), so cross-PE fields are accessed with Atomics.
 */
import { defineLayout } from '../src/machine/layout.js';
import { PRIVATE_EVENTS, SHARED_EVENTS } from './sdei/events.js';

/** First SDEI_REENABLE bit of the shared events (below it: the private events). */
export const REENABLE_SHARED = 16;

/** TF-A MAX_EVENT_NESTING: one normal and one critical dispatch per PE. */
export const MAX_DISPATCH = 2;

export const EventStateLayout = defineLayout('sdei-event', {
  STATE: { type: 'i32', owner: 'firmware', doc: 'SDEI_STATF_REGISTERED (1) | ENABLED (2) | RUNNING (4)' },
  ROUTE_MODE: { type: 'i32', owner: 'firmware', doc: 'RM_ANY (0) / RM_PE (1); shared events only' },
  ROUTE_AFF: { type: 'i32', owner: 'firmware', doc: 'routing affinity for RM_PE; shared events only' },
  OWNER_PE: { type: 'i32', owner: 'firmware', doc: 'PE currently running a shared event handler, -1 if none' },
  ENTRY: { type: 'f64', owner: 'firmware' },
  ARG: { type: 'f64', owner: 'firmware' },
});

export const DispatchLayout = defineLayout('sdei-dispatch', {
  X: { type: 'f64', count: 18, owner: 'firmware', doc: 'interrupted x0-x17' },
  ELR: { type: 'f64', owner: 'firmware', doc: 'interrupted PC (ELR_EL3 at dispatch)' },
  SPSR: { type: 'i32', owner: 'firmware', doc: 'interrupted PSTATE (SPSR_EL3 at dispatch)' },
  EVENT: { type: 'i32', owner: 'firmware' },
  INTID: { type: 'i32', owner: 'firmware', doc: 'interrupt acknowledged for this dispatch, EOI on completion' },
  CRITICAL: { type: 'i32', owner: 'firmware' },
  CONTEXT: { type: 'i32', owner: 'firmware', doc: 'handle of the saved Non-secure context on the PE thread' },
});

export const PeFirmwareLayout = defineLayout('fw-pe', {
  PSCI_ENTRY: { type: 'f64', owner: 'firmware', doc: 'CPU_ON entry point for this PE' },
  PSCI_CONTEXT: { type: 'f64', owner: 'firmware', doc: 'CPU_ON context id for this PE' },
  WEDGED_UNTIL: { type: 'f64', owner: 'firmware', doc: 'guest ns until which the PE is stuck at EL3' },
  SUSPEND_ENTRY: { type: 'f64', owner: 'firmware', doc: 'CPU_SUSPEND power-down resume entry point' },
  SUSPEND_CTX: { type: 'f64', owner: 'firmware', doc: 'CPU_SUSPEND power-down context id' },
  SUSPEND: { type: 'i32', owner: 'firmware', doc: '0 none, 1 standby, 2 power-down suspend in progress' },
  SDEI_MASKED: { type: 'i32', owner: 'firmware', doc: 'PE_MASK state (1 = masked)' },
  SDEI_DEPTH: { type: 'i32', owner: 'firmware', doc: 'outstanding dispatch records' },
  SDEI_REENABLE: { type: 'i32', owner: 'firmware', doc: 'interrupt disabled by a masked trigger, re-enable on PE_UNMASK: bit i private event i, bit REENABLE_SHARED + j shared event j' },
});

export const FirmwareLayout = defineLayout('fw-global', {
  SDEI_INITIALISED: { type: 'i32', owner: 'controller' },
  BIND_MAP: { type: 'i32', count: PRIVATE_EVENTS.length + SHARED_EVENTS.length, owner: 'firmware', doc: 'INTID bound to each dynamic event, -1 if none (private events first)' },
  LOCK: { type: 'i32', owner: 'firmware', doc: 'SDEI shared-event lock (TF-A sdei_ev_map lock)' },
});

/** Byte size of one PE's firmware block: PE fields, private event states, dispatch records. */
export const PE_BLOCK_BYTES =
  PeFirmwareLayout.size + EventStateLayout.size * PRIVATE_EVENTS.length + DispatchLayout.size * MAX_DISPATCH;

export function firmwareBytes(ncpus: number): number {
  return FirmwareLayout.size + EventStateLayout.size * SHARED_EVENTS.length + PE_BLOCK_BYTES * ncpus;
}

/** Byte offsets inside the firmware buffer. */
export function sharedEventOffset(i: number): number {
  return FirmwareLayout.size + EventStateLayout.size * i;
}
export function peBlockOffset(ncpus: number, pe: number): number {
  void ncpus;
  return FirmwareLayout.size + EventStateLayout.size * SHARED_EVENTS.length + PE_BLOCK_BYTES * pe;
}
export function privateEventOffset(pe: number, i: number): number {
  return peBlockOffset(0, pe) + PeFirmwareLayout.size + EventStateLayout.size * i;
}
export function dispatchOffset(pe: number, depth: number): number {
  return peBlockOffset(0, pe) + PeFirmwareLayout.size + EventStateLayout.size * PRIVATE_EVENTS.length + DispatchLayout.size * depth;
}
