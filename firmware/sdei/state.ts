/**
 * The SDEI handler state machine as one constant table
 * (SDEI DEN0054 section 6.1; reference/firmware-and-gic.md section 3.4; the
 * layout follows TF-A services/std_svc/sdei/sdei_state.c).
 *
 * A handler's state is three bits: Registered (1), Enabled (2), Running (4),
 * the same bits SDEI_EVENT_STATUS returns. Mnemonics: a lower-case letter is
 * a clear bit, upper case a set one, in the order Running, Enabled,
 * Registered: `reG` is registered only, `REG` running and enabled.
 *
 * Each cell is DENY, NOP (permitted, no change), PEND (UNREGISTER of an event
 * whose unregistration is already pending: PENDING again), or the next state.
 * `nextState` is pure; callers commit the result only after every other check
 * has passed (unlike TF-A, which writes first and rolls back).
 *
 * The DISPATCH column is not in the specification (TF-A footnote 2): it is
 * how the dispatcher marks an event running. `rEg` and `REg` (enabled without
 * registered) cannot occur: every call is denied there.
 */

export const STATF_REGISTERED = 1;
export const STATF_ENABLED = 2;
export const STATF_RUNNING = 4;

export const A = {
  REGISTER: 0,
  RELEASE: 1,
  ENABLE: 2,
  DISABLE: 3,
  UNREGISTER: 4,
  ROUTING: 5,
  CONTEXT: 6,
  COMPLETE: 7,
  COMPLETE_RESUME: 8,
  DISPATCH: 9,
} as const;
export type Action = (typeof A)[keyof typeof A];

export const DENY = -1;
export const NOP = -2;
export const PEND = -3;

const reg = 0, reG = 1, rEg = 2, rEG = 3, Reg = 4, ReG = 5, REg = 6, REG = 7;
const _ = DENY, o = NOP, P = PEND;

/** TABLE[state][action]. Columns: REGISTER RELEASE ENABLE DISABLE UNREGISTER ROUTING CONTEXT COMPLETE C&R DISPATCH */
export const TABLE: readonly (readonly number[])[] = [
  /* reg */ [reG, o, _, _, _, _, _, _, _, _],
  /* reG */ [_, _, rEG, o, reg, o, _, _, _, _],
  /* rEg */ [_, _, _, _, _, _, _, _, _, _],
  /* rEG */ [_, _, o, reG, reg, _, _, _, _, REG],
  /* Reg */ [_, _, _, _, P, _, o, reg, reg, _],
  /* ReG */ [_, _, REG, o, Reg, _, o, reG, reG, _],
  /* REg */ [_, _, _, _, _, _, _, _, _, _],
  /* REG */ [_, _, o, ReG, Reg, _, o, rEG, rEG, _],
];

export const STATE_NAMES = ['reg', 'reG', 'rEg', 'rEG', 'Reg', 'ReG', 'REg', 'REG'] as const;

/** DENY, NOP, PEND or the next state. */
export function nextState(state: number, action: Action): number {
  return TABLE[state & 7]![action]!;
}

void rEg; void REg;
