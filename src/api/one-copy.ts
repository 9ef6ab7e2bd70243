/**
 * One copy of smpstop per thread. A user module (`--kernel-module`,
 * `RunOptions.modules`) registers its variants, checkers and faults in the
 * registries of the smpstop it imports. If that is not the copy running the
 * machine (a globally installed CLI and a project's node_modules, two
 * installs side by side), the definitions would land in registries nobody
 * reads and the run would fail later with "unknown kernel variant". So the
 * first copy loaded in a thread claims a slot on globalThis, and a
 * registration made through another copy throws at once, naming both.
 */
import { InputError } from '../errors.js';

const SLOT = Symbol.for('smpstop.copy');
/** This copy: its dist/src/ directory. */
const HERE = new URL('..', import.meta.url).href;

type Slot = { [SLOT]?: string };
(globalThis as Slot)[SLOT] ??= HERE;

/** Throws when `what` (defineVariant, registerChecker, defineFault) is called on a copy of smpstop other than the first one loaded in this thread. */
export function assertOneCopy(what: string): void {
  const first = (globalThis as Slot)[SLOT];
  if (first === HERE) return;
  throw new InputError(what, `${what}: two copies of smpstop are loaded in this thread (${first} runs the machine; this module imported ${HERE}). A module that defines variants, checkers or faults must import the smpstop that runs it: install one copy and run its CLI (npx smpstop) or API.`, true);
}
