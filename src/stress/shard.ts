/**
 * Sharding a campaign over N machines (a CI matrix, a batch system): run i
 * belongs to shard K (1-based) of N when i mod N = K - 1. Together the N
 * shards run every index exactly once; each shard's runs are the same runs an
 * unsharded campaign would draw (campaign.ts), so results can be merged.
 */
import { InputError } from '../errors.js';

export interface Shard {
  /** 1-based shard number. */
  readonly k: number;
  /** Number of shards. */
  readonly n: number;
}

export const WHOLE: Shard = { k: 1, n: 1 };

/** Upper bound on N (a matrix wider than this is a typo). */
export const MAX_SHARDS = 10_000;

export function inShard(index: number, shard: Shard): boolean {
  return index % shard.n === shard.k - 1;
}

/** Parses --shard K/N. */
export function parseShard(v: unknown): Shard {
  const s = String(v).trim();
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || n > MAX_SHARDS || k < 1 || k > n) {
    throw new InputError('--shard', `'${s}' is not accepted: expected K/N with 1 <= K <= N <= ${MAX_SHARDS} (e.g. 2/4: runs i with i mod 4 = 1)`);
  }
  return { k, n };
}

/** How many of the runs 0..iterations-1 belong to the shard. */
export function shardSize(iterations: number, shard: Shard): number {
  const full = Math.floor(iterations / shard.n);
  return full + (iterations % shard.n > shard.k - 1 ? 1 : 0);
}

export const shardLabel = (s: Shard): string => `${s.k}/${s.n}`;
