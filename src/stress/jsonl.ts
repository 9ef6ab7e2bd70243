/**
 * The campaign result file: JSON Lines, one complete object per line.
 *
 *   line 1   {"type":"campaign", ...}  the header: format version, drawing
 *            version, every campaign option, the shard, the run budget
 *   then     {"type":"run", ...}       one per finished run (record.ts), in
 *            completion order (the `run` field is the index)
 *            {"type":"end", ...}       when a process stops (finished or
 *            interrupted); a resumed campaign appends after it
 *
 * Each line is written with one write(2) on a file opened O_APPEND, after the
 * run has finished, so an interrupted campaign never leaves half a line; a
 * file cut short by a crash or a full disk is repaired on resume by dropping
 * the incomplete tail.
 */
import { closeSync, fsyncSync, openSync, readFileSync, statSync, truncateSync, writeSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { DRAW_VERSION, type CampaignOptions } from './campaign.js';
import type { Shard } from './shard.js';
import type { RunRecord } from './record.js';

export const JSONL_VERSION = 1;

export interface CampaignHeader {
  readonly type: 'campaign';
  readonly version: number;
  readonly drawVersion: number;
  readonly tool: string;
  readonly options: CampaignOptions;
  readonly shard: Shard;
  /** Run budget: indices 0..iterations-1 (of which this shard runs its share). */
  readonly iterations?: number;
  /** Or a host-time budget, per process. */
  readonly durationMs?: number;
  readonly started: string;
}

export interface EndLine {
  readonly type: 'end';
  readonly runs: number;
  readonly interrupted: boolean;
  readonly elapsedMs: number;
  readonly at: string;
}

const HeaderSchema = z.object({
  type: z.literal('campaign'),
  version: z.literal(JSONL_VERSION),
  drawVersion: z.number().int(),
  tool: z.string(),
  options: z.object({
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    cpus: z.object({ min: z.number().int().min(1), max: z.number().int().min(1) }).strict(),
    kernels: z.array(z.string().min(1)).min(1),
    quirks: z.boolean(),
    engine: z.enum(['sim', 'threads']),
    scheduler: z.enum(['random', 'pct', 'mixed']),
    modules: z.array(z.string()),
    entry: z.array(z.string().min(1)).min(1).optional(),
    irqPipeline: z.boolean().optional(),
  }).strict(),
  shard: z.object({ k: z.number().int().min(1), n: z.number().int().min(1) }).strict(),
  iterations: z.number().int().positive().optional(),
  durationMs: z.number().positive().optional(),
  started: z.string(),
}).strict();

/** The fields of a run line that resume and the summary rely on (the rest is carried as is). */
const RunLineSchema = z.object({
  type: z.literal('run'),
  run: z.number().int().min(0),
  seed: z.number().int().min(0),
  outcome: z.string(),
  violations: z.array(z.object({ id: z.string(), cpu: z.number(), timeUs: z.number(), message: z.string() }).loose()),
  scenario: z.object({ cpus: z.number() }).loose(),
}).loose();

export interface CampaignFile {
  readonly header: CampaignHeader;
  /** Recorded runs by index (a run recorded twice keeps its first line). */
  readonly runs: Map<number, RunRecord>;
  /** Bytes of an incomplete last line (a crash mid-write), dropped by `repair`. */
  readonly partialTail: number;
  readonly path: string;
}

/** Reads and validates a campaign file; exit code 2 with the line number on anything malformed. */
export function readCampaignFile(path: string, flag = '--resume'): CampaignFile {
  if (!existsSync(path)) throw new InputError(flag, `${path} does not exist`);
  const buf = readFileSync(path);
  if (buf.length === 0) throw new InputError(flag, `${path} is empty: expected a campaign JSONL file (a {"type":"campaign"} header line first)`);
  const text = buf.toString('utf8');
  const lastNl = text.lastIndexOf('\n');
  const complete = lastNl < 0 ? '' : text.slice(0, lastNl);
  const partialTail = Buffer.byteLength(text.slice(lastNl + 1));
  const lines = complete.split('\n');
  let header: CampaignHeader | null = null;
  const runs = new Map<number, RunRecord>();
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new InputError(flag, `${path} line ${i + 1}: not JSON (${JSON.stringify(line.slice(0, 40))}...)`);
    }
    if (i === 0) {
      const h = HeaderSchema.safeParse(v);
      if (!h.success) {
        const iss = h.error.issues[0]!;
        throw new InputError(flag, `${path} line 1: not a campaign header: ${iss.path.join('.') || '(line)'}: ${iss.message}`);
      }
      header = h.data as CampaignHeader;
      return;
    }
    const type = (v as { type?: unknown } | null)?.type;
    if (type === 'end') return;
    const r = RunLineSchema.safeParse(v);
    if (!r.success) {
      const iss = r.error.issues[0]!;
      throw new InputError(flag, `${path} line ${i + 1}: not a run line: ${iss.path.join('.') || '(line)'}: ${iss.message}`);
    }
    if (!runs.has(r.data.run)) runs.set(r.data.run, r.data as unknown as RunRecord);
  });
  if (!header) throw new InputError(flag, `${path} has no complete header line`);
  const h = header as CampaignHeader;
  if (h.drawVersion !== DRAW_VERSION) {
    throw new InputError(flag, `${path} was drawn by drawing version ${h.drawVersion}; this smpstop draws version ${DRAW_VERSION}, so its run i would differ`);
  }
  return { header: h, runs, partialTail, path };
}

/** Drops an incomplete last line so appending starts on a fresh line. */
export function repairTail(f: CampaignFile): void {
  if (f.partialTail > 0) truncateSync(f.path, statSync(f.path).size - f.partialTail);
}

/** An append-only JSONL writer: one write(2) per line. */
export class JsonlWriter {
  private fd: number;
  constructor(readonly path: string, mode: 'create' | 'append') {
    // O_APPEND: every write lands at the end, whole (a regular file, one writer).
    this.fd = openSync(path, mode === 'create' ? 'w' : 'a');
  }

  write(obj: unknown): void {
    if (this.fd < 0) return;
    const buf = Buffer.from(`${JSON.stringify(obj)}\n`, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
  }

  close(): void {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}
