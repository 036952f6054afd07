import type { RankOrder } from '../../contracts/schema.js';

// NCCL's all-reduce as data: which ranks are summed, in which order, for every element, read from
// NVIDIA/nccl@5067397c2676 for a bf16 all-reduce alone in its kernel plan (what one
// torch.distributed.all_reduce call enqueues). The host splits the buffer over channels in cells
// (src/enqueue.cc:655-701), each channel's part runs with its chunk size (enqueue.cc:723-738,
// :2220-2227, :2321; src/include/device.h:328-360), and the kernel walks the part chunk by chunk
// along the channel's ring or tree (src/device/all_reduce.h:14-83, :146-225). The result is a
// list of element ranges, each summed in one order; both engines read that list.

export type NcclOrder = Extract<RankOrder, { kind: 'nccl-ring' | 'nccl-tree' }>;
export type NcclProtocol = NcclOrder['protocol'];

const BF16_BYTES = 2;
/** device.h:26 NCCL_STEPS. */
const NCCL_STEPS = 8;
/** enqueue.cc:585 MinTrafficPerChannel. */
const MIN_TRAFFIC_PER_CHANNEL = 32 << 10;
/** enqueue.cc:91-94: an all-reduce moves each byte twice. */
const ALL_REDUCE_TRAFFIC_PER_BYTE = 2;

/** device.h:328-334 ncclProtoGrainSize: LL 16 B; LL128 32 * 8 / 16 * 15 * 8 B (device.h:110-117); Simple 512 B. */
const GRAIN_BYTES: Readonly<Record<NcclProtocol, number>> = { ll: 16, ll128: ((32 * 8) / 16) * 15 * 8, simple: 512 };

/** init.cc:810-813: LL 8 lines * 512 threads * 8 steps * 16 B, LL128 120 * 640 * 8 * 8 B, Simple 4 MiB. */
const DEFAULT_BUFF_BYTES: Readonly<Record<NcclProtocol, number>> = { ll: 8 * 512 * NCCL_STEPS * 16, ll128: 120 * 640 * NCCL_STEPS * 8, simple: 1 << 22 };

function divUp(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

/** One channel's contiguous part of the flattened buffer. */
export interface NcclChannelPart {
  readonly channel: number;
  readonly offset: number;
  readonly count: number;
}

/**
 * enqueue.cc:655-715 for the plan's only task: channelId and currentTraffic start at 0 (:619-621),
 * trafficBytes is max(32 KiB, count * 2 * 2) (:597, :2738), the planner divides it over
 * `channels` = min(task nMaxChannels, comm nChannels) (:598-599, :618), and `commChannels` is
 * comm->nChannels (nMaxChannels[kind], :583).
 */
export function ncclChannelParts(count: number, protocol: NcclProtocol, channels: number, commChannels: number): NcclChannelPart[] {
  const trafficBytes = Math.max(MIN_TRAFFIC_PER_CHANNEL, count * BF16_BYTES * ALL_REDUCE_TRAFFIC_PER_BYTE);
  const trafficPerChannel = divUp(Math.floor(trafficBytes / channels), 16) * 16;
  // LL moves 16 bytes of line per 8 bytes of data, and the planner counts it four times (:658).
  const trafficPerByte = ALL_REDUCE_TRAFFIC_PER_BYTE * (protocol === 'll' ? 4 : 1);
  const cellSize = divUp(divUp(MIN_TRAFFIC_PER_CHANNEL, trafficPerByte), 16) * 16;
  const elementsPerCell = cellSize / BF16_BYTES;
  const cells = divUp(count * BF16_BYTES, cellSize);
  const trafficPerCell = cellSize * trafficPerByte;
  let cellsPerChannel = Math.min(cells, divUp(trafficPerChannel, trafficPerCell));
  // On the communicator's last channel everything goes to "lo" (:666-671).
  const cellsLo = commChannels === 1 ? cells : Math.min(cells, divUp(trafficPerChannel, trafficPerCell));
  let midChannels = Math.floor((cells - cellsLo) / cellsPerChannel);
  let cellsHi = (cells - cellsLo) % cellsPerChannel;
  if (commChannels < 1 + midChannels + (cellsHi !== 0 ? 1 : 0)) {
    // Overflowed the communicator's channels (:675-680): LL counts four times its traffic, so its
    // cells per channel are a quarter of what the channels can take.
    midChannels = commChannels - 2;
    cellsPerChannel = Math.floor((cells - cellsLo) / (midChannels + 1));
    cellsHi = cellsPerChannel + ((cells - cellsLo) % (midChannels + 1));
  }
  if (cellsHi === 0 && midChannels !== 0) {
    cellsHi = cellsPerChannel;
    midChannels -= 1;
  }
  // cellsLo is 0 only for an empty buffer (:685-695), which no shape has.
  const countMid = midChannels !== 0 ? cellsPerChannel * elementsPerCell : 0;
  let countLo = cellsLo * elementsPerCell;
  let countHi = cellsHi * elementsPerCell;
  // The last cell is partial (:699).
  const excess = cells * elementsPerCell - count;
  if (countHi !== 0) countHi -= excess;
  else countLo -= excess;
  const parts: NcclChannelPart[] = [{ channel: 0, offset: 0, count: countLo }];
  for (let m = 0; m < midChannels; m++) parts.push({ channel: 1 + m, offset: countLo + m * countMid, count: countMid });
  if (cellsHi !== 0) parts.push({ channel: 1 + midChannels, offset: countLo + midChannels * countMid, count: countHi });
  return parts;
}

/**
 * The Ring chunk in elements, as the device reads it: calcCollChunking's chunk size
 * (enqueue.cc:2222-2227: stepSize = buffSize / NCCL_STEPS, times ALLREDUCE_CHUNKSTEPS = 4 for
 * Simple (collectives.h:20, collectives.cc:175), halved for LL, 15/16 of the lines for LL128;
 * aligned down to the grain, :2321), stored in grains (:727) and read back as grains times
 * elements per grain (device.h:340-359). No tuner plugin (:2308-2318).
 */
export function ncclRingChunkCount(protocol: NcclProtocol, buffSize: number | 'default'): number {
  const buffBytes = buffSize === 'default' ? DEFAULT_BUFF_BYTES[protocol] : buffSize;
  const stepSize = Math.floor(buffBytes / NCCL_STEPS);
  let chunkSize = stepSize * (protocol === 'simple' ? NCCL_STEPS / 2 : 1);
  if (protocol === 'll') chunkSize = Math.floor(chunkSize / 2);
  if (protocol === 'll128') chunkSize = Math.floor(chunkSize / 16) * 15;
  const grains = Math.floor(chunkSize / GRAIN_BYTES[protocol]);
  return grains * (GRAIN_BYTES[protocol] / BF16_BYTES);
}

/** Element ranges, each summed in one order of ranks. */
export interface RankOrderSegments {
  /** Segment s covers elements [s === 0 ? 0 : ends[s - 1], ends[s]); the last end is the element count. */
  readonly ends: Uint32Array;
  /** Segment s sums ranks orders[s * ranks], orders[s * ranks + 1], .. in this order. */
  readonly orders: Uint32Array;
}

/** Which segment holds `element` (binary search over the ends). */
export function segmentOf(segments: RankOrderSegments, element: number): number {
  let lo = 0;
  let hi = segments.ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (segments.ends[mid] > element) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The segments of an NCCL order over `totalElements` elements of `ranks` ranks. */
export function ncclOrderSegments(order: NcclOrder, ranks: number, totalElements: number): RankOrderSegments {
  const perChannel = order.kind === 'nccl-ring' ? order.rings : order.chains;
  const parts = ncclChannelParts(totalElements, order.protocol, order.channels, perChannel.length);
  const ends: number[] = [];
  const orders: number[] = [];
  const segment = (end: number, sequence: readonly number[]): void => {
    ends.push(end);
    orders.push(...sequence);
  };
  for (const part of parts) {
    const ranksOfChannel = perChannel[part.channel];
    if (order.kind === 'nccl-tree') {
      // Every element of the part goes up the chain from the leaf (all_reduce.h:190-201) to the root (:166-174).
      segment(part.offset + part.count, ranksOfChannel);
      continue;
    }
    // all_reduce.h:23-81: loopCount is fixed from the first chunk count; the last, partial loop
    // cuts N chunks of alignUp(divUp(rem, N), 16 / sizeof(bf16)) elements. Chunk j starts at the
    // rank of ring index j + 1 (step 0 sends chunk ringIx - 1) and is finished at ring index j.
    let chunkCount = ncclRingChunkCount(order.protocol, order.buffSize);
    const loopCount = ranks * chunkCount;
    for (let elemOffset = 0; elemOffset < part.count; elemOffset += loopCount) {
      const remCount = part.count - elemOffset;
      if (remCount < loopCount) chunkCount = Math.ceil(divUp(remCount, ranks) / 8) * 8;
      for (let j = 0; j < ranks; j++) {
        const nelem = Math.min(chunkCount, remCount - j * chunkCount);
        if (nelem <= 0) break;
        segment(
          part.offset + elemOffset + j * chunkCount + nelem,
          Array.from({ length: ranks }, (_, i) => ranksOfChannel[(j + 1 + i) % ranks]),
        );
      }
    }
  }
  return { ends: Uint32Array.from(ends), orders: Uint32Array.from(orders) };
}
