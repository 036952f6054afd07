import type { RankOrder } from '../../contracts/schema.js';
import { ncclOrderSegments, type NcclOrder, type RankOrderSegments } from './ncclChannels.js';

// Most orders are a rotation of a base sequence of ranks: natural and the owner-rotated orders
// rotate 0..N-1, the one-channel ring rotates the ring. What varies per element is where the
// rotation starts. NCCL over several channels has a ring (or chain) per channel: its orders are
// element ranges, each with its own sequence of ranks (ncclChannels.ts).

export interface RankRotation {
  /** Ranks in base order. */
  readonly base: readonly number[];
  /** Index into `base` of the first rank summed for this flattened element. */
  startFor(element: number, outputRank: number): number;
}

/** Either a rotation or segments: exactly one is non-null. */
export type RankOrderLayout = { readonly rotation: RankRotation; readonly segments: null } | { readonly rotation: null; readonly segments: RankOrderSegments };

export function isNcclOrder(order: RankOrder): order is NcclOrder {
  return order.kind === 'nccl-ring' || order.kind === 'nccl-tree';
}

export function rankOrderLayout(order: RankOrder, ranks: number, totalElements: number): RankOrderLayout {
  if (isNcclOrder(order)) return { rotation: null, segments: ncclOrderSegments(order, ranks, totalElements) };
  return { rotation: rankRotation(order, ranks, totalElements), segments: null };
}

export function rankRotation(order: Exclude<RankOrder, NcclOrder>, ranks: number, totalElements: number): RankRotation {
  const natural = Array.from({ length: ranks }, (_, r) => r);
  switch (order.kind) {
    case 'natural':
      return { base: natural, startFor: () => 0 };
    case 'own-first':
      return { base: natural, startFor: (_e, outputRank) => outputRank };
    case 'rotated': {
      // vLLM/aiter cross_device_reduce_2stage: part = packs / N, the last rank takes the rest.
      const packs = Math.ceil(totalElements / order.packElems);
      const part = Math.floor(packs / ranks);
      return {
        base: natural,
        startFor: (e) => (part === 0 ? ranks - 1 : Math.min(Math.floor(Math.floor(e / order.packElems) / part), ranks - 1)),
      };
    }
    case 'ring': {
      const chunk = Math.ceil(Math.ceil(totalElements / ranks) / order.chunkAlignElems) * order.chunkAlignElems;
      return {
        base: order.ring ?? natural,
        // Chunk c is reduced starting at ring position c+1 and ends at c, where it is complete.
        startFor: (e) => (Math.floor(e / chunk) + 1) % ranks,
      };
    }
  }
}

/** Whether ranks can end with different results (then outputs are written per rank). */
export function ranksDiverge(order: RankOrder): boolean {
  return order.kind === 'own-first';
}
