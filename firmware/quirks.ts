/**
 * Firmware quirks: behaviours of real firmware (Trusted Firmware-A) that the
 * "clean" model does not have by default, each selectable per run
 * (reference/firmware-and-gic.md sections 3.10 and 6).
 */
export const QUIRKS = {
  'cpu-off-in-sdei-wedges':
    'CPU_OFF from a PE that has an uncompleted SDEI dispatch wedges that PE at EL3 forever (firmware that cannot power down inside an event)',
  'cpu-off-abandons-sdei':
    'CPU_OFF inside an SDEI handler powers down leaving the dispatch record and the active interrupt behind, as TF-A psci_do_cpu_off does (section 3.10): event 0 is never taken on that PE again',
  'signal-masked-target-denied':
    'current TF-A (commit b142ede7): SDEI_EVENT_SIGNAL returns INVALID_PARAMETERS when the target PE is masked or event 0 is not registered and enabled on it',
  'masked-sgi-never-eoid':
    'older TF-A (section 3.10 Q1): an event-0 SGI taken on a masked PE is left active, never EOId, so the PE running priority stays 0x70 and blocks every Non-secure interrupt',
  'disabled-event-repends':
    'TF-A (section 3.10 Q2): event 0 registered but disabled when its SGI is taken is set pending again and EOId while the SGI stays enabled, so the PE bounces between EL3 and the kernel',
  'cpu-off-denied': 'PSCI CPU_OFF returns DENIED (a Trusted OS resident on the core, or a platform refusing)',
  'sdei-version-1.0': 'SDEI_VERSION reports 1.0.0 as TF-A does (section 3.10 Q3), although the calls of 1.1 are implemented',
} as const;

export type Quirk = keyof typeof QUIRKS;

export const QUIRK_NAMES = Object.keys(QUIRKS) as Quirk[];

export function isQuirk(s: string): s is Quirk {
  return Object.prototype.hasOwnProperty.call(QUIRKS, s);
}

export interface FirmwareConfig {
  /** SDEI dispatcher present (SDEI calls return NOT_SUPPORTED otherwise). */
  readonly sdei: boolean;
  readonly quirks: readonly Quirk[];
}

export const DEFAULT_FIRMWARE: FirmwareConfig = { sdei: true, quirks: [] };
