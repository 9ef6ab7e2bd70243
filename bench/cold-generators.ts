/**
 * The cold-code limit of generator-based guest code, measured in the same
 * run: the bare generator loop (instructions.ts) spread over many distinct
 * generator functions, as a scenario run spreads its instructions over the
 * kernel model's.
 *
 * A scenario run retires its ~4,000 instructions in ~200 distinct kernel and
 * firmware functions (plus ~200 functions of the core, GIC and trace), each
 * run a few times per run. Resuming a generator whose code was evicted since
 * it last ran costs several times what a hot loop of one function does, and
 * no model work is needed to see it: `functions` distinct generator
 * functions of `steps` yields each, called one after another (a new
 * generator per call, as BL starts one) and driven the way the core drives
 * guest code (`next(ret)`, one Atomics.load of an interrupt word per step),
 * against the same loop over `functions` calls of one such function. The
 * cold figure, ns per step, is a floor for a run's instructions: a run's
 * instructions at that price give the most runs per second this model design
 * could reach on this host if nothing but the generator steps cost anything.
 */
import { hostNs } from './host.js';

export interface ColdGeneratorFigures {
  /** Distinct generator functions of the cold loop. */
  readonly functions: number;
  /** Yields per function call. */
  readonly steps: number;
  /** ns per step over `functions` distinct functions (best of the repetitions). */
  readonly coldNs: number;
  /** ns per step of the same loop over one function called as often (best of the repetitions). */
  readonly hotNs: number;
}

type StepFn = (s: { a: number; v: number }) => Generator<number, number, number>;

// The constructor of generator functions (%GeneratorFunction%): each body compiled from its own
// source is its own function with its own optimised code, as the model's guest functions are.
const GeneratorFunction = Object.getPrototypeOf(function* () { /* the intrinsic's prototype */ }).constructor as new (...args: string[]) => StepFn;
const generatorNext = Object.getPrototypeOf(function* () { /* the intrinsic's prototype */ }).prototype.next as (this: Generator<number, number, number>, v: number) => IteratorResult<number, number>;

/**
 * `count` distinct generator functions of `steps` yields each. Each yield passes a value and folds
 * the one sent back into a running sum (so every step has a live value and a little work, as an
 * instruction's result does); the constants differ per function, so no two share compiled code.
 */
export function makeStepFunctions(count: number, steps: number): StepFn[] {
  const fns: StepFn[] = [];
  for (let i = 0; i < count; i++) {
    const body: string[] = ['let t = s.a;'];
    for (let j = 0; j < steps; j++) body.push(`t = (t + (yield ${i * steps + j})) | 0;`);
    body.push('s.v = t;', 'return t;');
    fns.push(new GeneratorFunction('s', body.join('\n')));
  }
  return fns;
}

/** Drives every function of `list` once, in order, `rounds` times; returns ns per step. */
export function stepNs(list: readonly StepFn[], rounds: number): number {
  const attn = new Int32Array(new SharedArrayBuffer(64));
  const s = { a: 1, v: 0 };
  let steps = 0;
  const t0 = hostNs();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < list.length; i++) {
      const g = list[i]!(s);
      let ret = 0;
      for (;;) {
        if (Atomics.load(attn, 3) !== 0) break; // the per-instruction interrupt check
        const res = generatorNext.call(g, ret);
        if (res.done === true) break;
        ret = res.value & 7;
        steps++;
      }
    }
  }
  return (hostNs() - t0) / Math.max(1, steps);
}

/**
 * The cold and hot figures: `warmRounds` unmeasured rounds of both loops first (every function
 * optimised), then `reps` interleaved measurements of `rounds` rounds each, best of each side.
 */
export function measureColdGenerators(functions: number, steps: number, rounds: number, warmRounds: number, reps: number): ColdGeneratorFigures {
  const cold = makeStepFunctions(functions, steps);
  const one = makeStepFunctions(1, steps)[0]!;
  const hot = cold.map(() => one);
  stepNs(cold, warmRounds);
  stepNs(hot, warmRounds);
  let coldNs = Infinity;
  let hotNs = Infinity;
  for (let rep = 0; rep < reps; rep++) {
    coldNs = Math.min(coldNs, stepNs(cold, rounds));
    hotNs = Math.min(hotNs, stepNs(hot, rounds));
  }
  return { functions, steps, coldNs, hotNs };
}
