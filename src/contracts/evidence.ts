import { z } from 'zod';
import { ContractSchema, type Contract } from './schema.js';

// A preset is a claim about real code. Each of its contract dimensions carries the evidence that
// decides it: the file and lines, at a pinned commit, that a reader can open to check the claim.

/** A repository at the commit its evidence was read from. */
export interface SourcePin {
  readonly repository: string;
  /** Full 40-hex commit. */
  readonly commit: string;
}

export interface Citation {
  readonly repository: string;
  readonly commit: string;
  readonly path: string;
  /** First and last line (inclusive) of the passage that decides the dimension. */
  readonly lines: readonly [number, number];
  /** What those lines say, in a few words. */
  readonly says: string;
}

export interface Evidence {
  readonly cites: readonly Citation[];
  /** Why the cited lines decide this value, or what the contract cannot say about them. */
  readonly note: string | null;
}

export function pin(repository: string, commit: string): SourcePin {
  return { repository, commit };
}

/** A citation of `path` lines `first`..`last` (a single line when `last` is omitted). */
export function cite(source: SourcePin, path: string, first: number, says: string, last: number = first): Citation {
  return { repository: source.repository, commit: source.commit, path, lines: [first, last], says };
}

export function evidence(...cites: Citation[]): Evidence {
  return { cites, note: null };
}

export function evidenceWithNote(note: string, ...cites: Citation[]): Evidence {
  return { cites, note };
}

/** 'ROCm/aiter@e4048607a535 csrc/include/custom_all_reduce.cuh:1991-2006' */
export function formatCitation(c: Citation): string {
  const lines = c.lines[0] === c.lines[1] ? `${c.lines[0]}` : `${c.lines[0]}-${c.lines[1]}`;
  return `${c.repository}@${c.commit.slice(0, 12)} ${c.path}:${lines}`;
}

// The dimensions of a contract are the leaves of the schema: every field whose value is not an
// object of further fields. A nullable object that is null in this contract (no residual, no
// quant, no scale floor) is one dimension; discriminated unions (rank order, reduction tree,
// scale layout) are one dimension each, since their fields only mean something together.

type AnySchema = z.core.$ZodType;

function unwrapped(schema: AnySchema): AnySchema {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as AnySchema;
  return s;
}

function leaves(schema: AnySchema, value: unknown, path: string, out: string[]): void {
  const inner = unwrapped(schema);
  if (!(inner instanceof z.ZodObject) || value === null || typeof value !== 'object') {
    out.push(path);
    return;
  }
  const record = value as Readonly<Record<string, unknown>>;
  for (const [key, child] of Object.entries(inner.shape)) {
    leaves(child as AnySchema, record[key], path === '' ? key : `${path}.${key}`, out);
  }
}

/** Every dimension path of `contract`, in schema order, derived from ContractSchema. */
export function contractDimensions(contract: Contract): string[] {
  const out: string[] = [];
  leaves(ContractSchema, contract, '', out);
  return out;
}
