import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { ContractInput } from '../../src/contracts/schema.js';
import { checkContractForShape, parseContract } from '../../src/contracts/validate.js';
import { allReduce } from '../../src/engines/cpu/allReduce.js';
import { cpuCase } from '../../src/engines/cpu/context.js';
import { ncclChannelParts, ncclOrderSegments, ncclRingChunkCount, type NcclOrder } from '../../src/engines/layout/ncclChannels.js';
import { bitsFromF32 } from '../../src/numerics/f32.js';
import { caseOf } from './caseBuilder.js';
import { scheduleCollTask, transcribedOrders, type Algorithm, type Protocol } from './transcribedNccl.js';

// NCCL's multi-channel all-reduce (src/engines/layout/ncclChannels.ts) against a transcription of
// NVIDIA/nccl@5067397c written from the source (transcribedNccl.ts: the host planner, then every
// rank's primitive calls simulated), per element, and on the CPU engine with hand-derived bits.

/** The layout's order of every element, expanded from its segments. */
function layoutOrders(order: NcclOrder, ranks: number, count: number): number[][] {
  const { ends, orders } = ncclOrderSegments(order, ranks, count);
  const out: number[][] = [];
  ends.forEach((end, s) => {
    while (out.length < end) out.push(Array.from(orders.subarray(s * ranks, (s + 1) * ranks)));
  });
  return out;
}

/** A deterministic permutation of 1..n-1 after rank 0 (a ring as rank 0 prints it). */
function ringFrom(seed: number, n: number): number[] {
  const rest = Array.from({ length: n - 1 }, (_, i) => i + 1);
  let state = seed * 2654435761;
  for (let i = rest.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const j = state % (i + 1);
    [rest[i], rest[j]] = [rest[j], rest[i]];
  }
  return [0, ...rest];
}

describe('NCCL planner: hand-derived channel parts (enqueue.cc:655-701)', () => {
  test('10000 bf16, Simple, 2 channels: 16 KiB cells of 8192 elements; cellsPerChannel 1 makes the second cell the hi channel, 1808 long', () => {
    // traffic 40000 B, per channel 20000; cells 2; cellsPerChannel min(2, divUp(20000, 32768)) = 1;
    // lo 1, mid 1, hi 0 -> hi takes the mid: lo 8192, hi 8192 - (16384 - 10000) = 1808.
    expect(ncclChannelParts(10000, 'simple', 2, 2)).toEqual([
      { channel: 0, offset: 0, count: 8192 },
      { channel: 1, offset: 8192, count: 1808 },
    ]);
    expect(scheduleCollTask(10000, 4, 'ring', 'simple', 2, 2, 'default')).toMatchObject({ channelLo: 0, channelHi: 1, countLo: 8192, countHi: 1808 });
  });

  test('2^20 bf16, LL, 4 channels: LL counts its traffic 4 times, overflows to the communicator channels (4): 65536, 327680 x 2, 327680', () => {
    // cells of 4096 B (2048 elements): 512; per channel 1 MiB / 32 KiB = 32 cells; lo 32, 15 mid
    // -> 16 channels > 4: mid = 2, cellsPerChannel = 480 / 3 = 160, hi = 160.
    expect(ncclChannelParts(1 << 20, 'll', 4, 4).map((p) => p.count)).toEqual([65536, 327680, 327680, 327680]);
    expect(scheduleCollTask(1 << 20, 8, 'ring', 'll', 4, 4, 'default')).toMatchObject({ countLo: 65536, countMid: 327680, countHi: 327680, channelHi: 3 });
  });

  test('ring chunk per protocol with the default buffers: Simple 2 MiB, LL 32 KiB, LL128 300 grains of 1920 B', () => {
    expect(ncclRingChunkCount('simple', 'default')).toBe(1 << 20);
    expect(ncclRingChunkCount('ll', 'default')).toBe(16384);
    expect(ncclRingChunkCount('ll128', 'default')).toBe(300 * 960);
    expect(ncclRingChunkCount('ll128', 1 << 14)).toBe(960);
  });
});

describe('NCCL per-element order: layout segments = transcribed kernel', () => {
  const cases: [string, Algorithm, Protocol, number, number, number, number, number | 'default'][] = [];
  for (const protocol of ['simple', 'll', 'll128'] as const) {
    for (const [ranks, channels, commChannels] of [
      [2, 1, 1],
      [3, 2, 2],
      [4, 2, 4],
      [4, 3, 4],
      [5, 4, 4],
      [8, 2, 2],
    ] as const) {
      for (const count of [1, 13, 2048, 8191, 8193, 10000, 40963]) {
        for (const algorithm of ['ring', 'tree'] as const) {
          const buffSize = algorithm === 'ring' && count % 2 === 1 ? 1 << 14 : 'default';
          cases.push([
            `${algorithm} ${protocol} N=${ranks} ch=${channels}/${commChannels} count=${count} buff=${buffSize}`,
            algorithm,
            protocol,
            ranks,
            channels,
            commChannels,
            count,
            buffSize,
          ]);
        }
      }
    }
  }

  test.each(cases)('%s', (_name, algorithm, protocol, ranks, channels, commChannels, count, buffSize) => {
    const perChannel = Array.from({ length: commChannels }, (_, c) => ringFrom(c + 7 * ranks + count, ranks));
    // A chain lists the ranks from leaf to root; any permutation is one.
    const chains = perChannel.map((ring, c) => (c % 2 === 0 ? [...ring].reverse() : ring));
    const order: NcclOrder =
      algorithm === 'ring' ? { kind: 'nccl-ring', protocol, channels, rings: perChannel, buffSize } : { kind: 'nccl-tree', protocol, channels, chains };
    const expected = transcribedOrders(count, ranks, algorithm, protocol, channels, algorithm === 'ring' ? perChannel : chains, buffSize);
    const got = layoutOrders(order, ranks, count);
    expect(got.length).toBe(count);
    const first = got.findIndex((o, e) => o.join() !== expected[e].join());
    expect(first === -1 ? null : { element: first, layout: got[first], transcribed: expected[first] }).toBeNull();
  });
});

describe('NCCL orders on the CPU engine: per-hop bf16 rounding, hand-derived', () => {
  // Ranks 0..3 hold 1, 2^-8, 2^-8, 0 at the probed elements. Summed with a bf16 round after every
  // hop: starting at rank 0, 1 + 2^-8 is a tie that rounds to even (1.0) and so does the next
  // 2^-8, giving 1.0 = 0x3F80; when 2^-8 + 2^-8 = 2^-7 comes first, 1 + 2^-7 is exact: 0x3F81.
  const shape = { ranks: 4, tokens: 5, hidden: 2000 };
  const count = shape.tokens * shape.hidden;
  // 10000 elements, Simple, 2 channels: [0, 8192) and [8192, 10000) (test above). Channel 0's one
  // loop has chunks of alignUp(divUp(8192, 4), 8) = 2048, channel 1's of alignUp(452, 8) = 456.
  const probes = [0, 2048, 4096, 6144, 8192, 8648, 9104, 9560];
  const values = [1, 2 ** -8, 2 ** -8, 0];
  const inputs = caseOf(
    values.map((v) => Array.from({ length: count }, (_, e) => (probes.includes(e) ? v : 0))),
    Array.from({ length: count }, () => 0),
    Array.from({ length: shape.hidden }, () => 1),
    shape.tokens,
  );
  const base = getPreset('nccl-ring').contract;
  const arBits = (order: ContractInput['allReduce']['order']): number[] => {
    const contract = parseContract({ ...base, allReduce: { ...base.allReduce, order } });
    checkContractForShape(contract, shape);
    const c = cpuCase(contract, shape, inputs);
    const x = new Float32Array(shape.hidden);
    const residualOut = new Uint16Array(shape.hidden);
    return probes.map((e) => {
      allReduce(c, Math.floor(e / shape.hidden), 0, x, residualOut);
      return bitsFromF32(x[e % shape.hidden]) >>> 16;
    });
  };

  test('nccl-ring, rings [0 1 2 3] and [0 2 1 3]: chunk j starts at ring index j + 1', () => {
    // Channel 0 chunks 0..3 start at ranks 1, 2, 3, 0: orders 1230, 2301, 3012, 0123; only the
    // first adds the two 2^-8 before the 1. Channel 1 (ring 0 2 1 3) chunks start at 2, 1, 3, 0:
    // orders 2130, 1302, 3021, 0213; again only the first.
    expect(
      arBits({
        kind: 'nccl-ring',
        protocol: 'simple',
        channels: 2,
        rings: [
          [0, 1, 2, 3],
          [0, 2, 1, 3],
        ],
      }),
    ).toEqual([0x3f81, 0x3f80, 0x3f80, 0x3f80, 0x3f81, 0x3f80, 0x3f80, 0x3f80]);
  });

  test('the one-channel ring order differs at element 8192 (its chunk 3 of 2504 starts at rank 0)', () => {
    expect(arBits({ kind: 'ring', ring: [0, 1, 2, 3], chunkAlignElems: 8 })[4]).toBe(0x3f80);
  });

  test('nccl-tree, chains 3-2-1-0 and 0-1-2-3: every element of a channel sums from its leaf', () => {
    expect(
      arBits({
        kind: 'nccl-tree',
        protocol: 'simple',
        channels: 2,
        chains: [
          [3, 2, 1, 0],
          [0, 1, 2, 3],
        ],
      }),
    ).toEqual([0x3f81, 0x3f81, 0x3f81, 0x3f81, 0x3f80, 0x3f80, 0x3f80, 0x3f80]);
  });
});
