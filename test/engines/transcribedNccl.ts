// NCCL's bf16 all-reduce transcribed from NVIDIA/nccl@5067397c2676d5aed50042fc39e5c8ee96eb0027,
// written from the source and not from src/engines/layout: the host planner statement for
// statement (src/enqueue.cc), then the kernel as a simulation of every rank's primitive calls on
// its channel (src/device/all_reduce.h), with each element's value carried as the list of the
// ranks it sums, in order. A send hands the list to the next rank; a recv-reduce appends the
// receiver's own rank; the list that a rank finally stores is the order of that element's sum.

export type Protocol = 'simple' | 'll' | 'll128';
export type Algorithm = 'ring' | 'tree';

const NCCL_STEPS = 8; // src/include/device.h:26
const WARP_SIZE = 32;
const NCCL_LL128_LINEELEMS = 128 / 8; // device.h:110-111
const NCCL_LL128_DATAELEMS = NCCL_LL128_LINEELEMS - 1; // device.h:112
const NCCL_LL128_SHMEM_ELEMS_PER_THREAD = 8; // device.h:117
const ALLREDUCE_CHUNKSTEPS = NCCL_STEPS / 2; // src/include/collectives.h:20
const sizeofBf16 = 2;

const divUp = (x: number, y: number): number => Math.floor((x + y - 1) / y);
const alignUp = (x: number, a: number): number => divUp(x, a) * a;

// device.h:328-334
function ncclProtoGrainSize(proto: Protocol): number {
  if (proto === 'll') return 16;
  if (proto === 'll128') return ((WARP_SIZE * NCCL_LL128_SHMEM_ELEMS_PER_THREAD) / NCCL_LL128_LINEELEMS) * NCCL_LL128_DATAELEMS * 8;
  return 512;
}

// src/init.cc:810-813 and :822-828
function buffSizeOf(proto: Protocol, env: number | 'default'): number {
  if (env !== 'default') return env;
  if (proto === 'll') return 8 /* NCCL_LL_LINES_PER_THREAD */ * 512 /* NCCL_LL_MAX_NTHREADS */ * NCCL_STEPS * 16; /* sizeof(ncclLLFifoLine) */
  if (proto === 'll128') return 120 /* NCCL_LL128_ELEMS_PER_THREAD */ * 640 /* NCCL_LL128_MAX_NTHREADS */ * NCCL_STEPS * 8;
  return 1 << 22; // DEFAULT_BUFFSIZE
}

/** enqueue.cc:2182-2321 for AllReduce, Ring or Tree, no tuner plugin, one node. */
function calcCollChunking(algorithm: Algorithm, proto: Protocol, nRanks: number, nChannels: number, nBytes: number, buffSize: number | 'default'): number {
  const grainSize = ncclProtoGrainSize(proto);
  const stepSize = Math.trunc(buffSizeOf(proto, buffSize) / NCCL_STEPS);
  const chunkSteps = proto === 'simple' && algorithm === 'ring' ? ALLREDUCE_CHUNKSTEPS : 1;
  let chunkSize = stepSize * chunkSteps;
  if (proto === 'll') chunkSize = Math.trunc(chunkSize / 2);
  if (proto === 'll128') chunkSize = Math.trunc(chunkSize / NCCL_LL128_LINEELEMS) * NCCL_LL128_DATAELEMS;
  if (algorithm === 'tree' && proto === 'll128') {
    const nNodes = 1;
    const ppn = Math.fround(nRanks / nNodes);
    const nstepsLL128 = 1 + Math.log2(nNodes) + 0.1 * ppn;
    while (Math.trunc(nBytes / (nChannels * chunkSize)) < (nstepsLL128 * 64) / ppn && chunkSize > 131072) chunkSize = Math.trunc(chunkSize / 2);
    while (Math.trunc(nBytes / (nChannels * chunkSize)) < (nstepsLL128 * 16) / ppn && chunkSize > 32768) chunkSize = Math.trunc(chunkSize / 2);
  }
  return Math.trunc(chunkSize / grainSize) * grainSize;
}

export interface DevWork {
  channelLo: number;
  channelHi: number;
  countLo: number;
  countMid: number;
  countHi: number;
  chunkGrainsLo: number;
  chunkGrainsMid: number;
  chunkGrainsHi: number;
}

/** enqueue.cc:580-739, one AllReduce task alone in the plan, not CollNet/NVLS (kind 0). */
export function scheduleCollTask(
  count: number,
  nRanks: number,
  algorithm: Algorithm,
  protocol: Protocol,
  taskMaxChannels: number,
  commNChannels: number,
  buffSize: number | 'default',
): DevWork {
  const MinTrafficPerChannel = 32 << 10;
  const elementSize = sizeofBf16;
  const taskTrafficBytes = count * elementSize * 2; // :2738 with ncclFuncTrafficPerByte(AllReduce) = 2 (:91-94)
  const trafficBytes = Math.max(MinTrafficPerChannel, taskTrafficBytes); // :597
  const nChannelsKind = Math.min(taskMaxChannels, commNChannels); // :598-599
  const nMaxChannelsKind = commNChannels; // :583
  const trafficPerChannel = divUp(Math.trunc(trafficBytes / nChannelsKind), 16) * 16; // :618
  let channelId = 0;
  const currentTraffic = 0;
  let trafficPerByte = 2; // :657
  if (protocol === 'll') trafficPerByte *= 4;
  const cellSize = divUp(divUp(MinTrafficPerChannel, trafficPerByte), 16) * 16;
  const elementsPerCell = Math.trunc(cellSize / elementSize);
  const cells = divUp(count * elementSize, cellSize);
  const trafficPerCell = cellSize * trafficPerByte;
  let cellsPerChannel = Math.min(cells, divUp(trafficPerChannel, trafficPerCell));
  let cellsLo: number;
  if (channelId + 1 === nMaxChannelsKind) {
    cellsLo = cells;
  } else {
    cellsLo = Math.min(cells, divUp(trafficPerChannel - currentTraffic, trafficPerCell));
  }
  let nMidChannels = Math.trunc((cells - cellsLo) / cellsPerChannel);
  let cellsHi = (cells - cellsLo) % cellsPerChannel;
  let nChannels = (cellsLo !== 0 ? 1 : 0) + nMidChannels + (cellsHi !== 0 ? 1 : 0);
  if (nMaxChannelsKind < channelId + nChannels) {
    nMidChannels = nMaxChannelsKind - channelId - 2;
    cellsPerChannel = Math.trunc((cells - cellsLo) / (nMidChannels + 1));
    cellsHi = cellsPerChannel + ((cells - cellsLo) % (nMidChannels + 1));
  }
  if (cellsHi === 0 && nMidChannels !== 0) {
    cellsHi = cellsPerChannel;
    nMidChannels -= 1;
  }
  if (cellsLo === 0) {
    channelId += 1;
    if (nMidChannels === 0) {
      cellsLo = cellsHi;
      cellsHi = 0;
    } else {
      cellsLo = cellsPerChannel;
      nMidChannels -= 1;
    }
  }
  const countMid = nMidChannels !== 0 ? cellsPerChannel * elementsPerCell : 0;
  let countLo = cellsLo * elementsPerCell;
  let countHi = cellsHi * elementsPerCell;
  if (countHi !== 0) countHi -= cells * elementsPerCell - count;
  else countLo -= cells * elementsPerCell - count;
  nChannels = (countLo !== 0 ? 1 : 0) + nMidChannels + (cellsHi !== 0 ? 1 : 0);
  const globalBytesPerElement = elementSize; // ncclFuncMaxSendRecvCount(AllReduce) = count (enqueue.h:39-41)
  const grainSize = ncclProtoGrainSize(protocol);
  const grains = (n: number): number => calcCollChunking(algorithm, protocol, nRanks, 1, globalBytesPerElement * n, buffSize) / grainSize;
  return {
    channelLo: channelId,
    channelHi: channelId + nChannels - 1,
    countLo,
    countMid,
    countHi,
    chunkGrainsLo: countLo !== 0 ? grains(countLo) : 0,
    chunkGrainsMid: nMidChannels !== 0 ? grains(countMid) : 0,
    chunkGrainsHi: countHi !== 0 ? grains(countHi) : 0,
  };
}

/** device.h:337-361 ncclCollCbdPart: [partOffset, partCount, chunkCount] of a channel. */
function ncclCollCbdPart(work: DevWork, channelId: number, proto: Protocol): [number, number, number] {
  const eltPerGrain = ncclProtoGrainSize(proto) / sizeofBf16;
  const nMidChannels = work.channelHi - work.channelLo - 1;
  if (channelId === work.channelLo) return [0, work.countLo, work.chunkGrainsLo * eltPerGrain];
  if (channelId === work.channelHi) return [work.countLo + nMidChannels * work.countMid, work.countHi, work.chunkGrainsHi * eltPerGrain];
  const mid = channelId - work.channelLo - 1;
  return [work.countLo + mid * work.countMid, work.countMid, work.chunkGrainsMid * eltPerGrain];
}

type Lists = (number[] | undefined)[];

/** One rank's kernel as the sequence of primitive calls it makes, as closures over its buffers. */
interface RankProgram {
  readonly ops: ((inbox: Lists[], outbox: (msg: Lists) => void) => void)[];
}

/** Runs every rank's program in lock step: op k of every rank, then op k + 1. Each op reads at
 *  most one message from its inbox (sent by its predecessor during op k - 1 or earlier). */
function runLockStep(programs: readonly RankProgram[], next: (r: number) => number): void {
  const inboxes: Lists[][] = programs.map(() => []);
  const steps = Math.max(...programs.map((p) => p.ops.length));
  for (let k = 0; k < steps; k++) {
    const sent: [number, Lists][] = [];
    programs.forEach((p, r) => p.ops[k]?.(inboxes[r], (msg) => sent.push([next(r), msg])));
    for (const [to, msg] of sent) inboxes[to].push(msg);
  }
}

/**
 * Per element of `count`, the ranks summed in order, from the simulated kernel. `perChannel[c]`
 * is the ring of channel c as rank 0 prints it (Ring), or the chain from leaf to root (Tree).
 */
export function transcribedOrders(
  count: number,
  nRanks: number,
  algorithm: Algorithm,
  protocol: Protocol,
  taskMaxChannels: number,
  perChannel: readonly (readonly number[])[],
  buffSize: number | 'default' = 'default',
): number[][] {
  const work = scheduleCollTask(count, nRanks, algorithm, protocol, taskMaxChannels, perChannel.length, buffSize);
  // Each rank's recvbuff: per element the list it holds (its own rank before the all-reduce).
  const recvbuff: Lists[] = Array.from({ length: nRanks }, (_, r) => Array.from({ length: count }, () => [r]));
  for (let channel = work.channelLo; channel <= work.channelHi; channel++) {
    const [gridOffset, channelCount, firstChunkCount] = ncclCollCbdPart(work, channel, protocol);
    const order = perChannel[channel];
    if (algorithm === 'ring') {
      // init.cc:796-802: ring index = distance from rank 0 along the ring; the printed ring starts at rank 0.
      const indexOf = (rank: number): number => (order.indexOf(rank) - order.indexOf(0) + nRanks) % nRanks;
      const programs = Array.from({ length: nRanks }, (_, rank) =>
        ringProgram(recvbuff[rank], rank, indexOf(rank), nRanks, gridOffset, channelCount, firstChunkCount),
      );
      runLockStep(programs, (r) => order[(order.indexOf(r) + 1) % nRanks]);
    } else {
      const programs = Array.from({ length: nRanks }, (_, rank) => treeUpProgram(recvbuff[rank], rank, order, gridOffset, channelCount, firstChunkCount));
      runLockStep(programs, (r) => order[order.indexOf(r) + 1] ?? -1);
      // The broadcast (directSendFromOutput / directRecvCopyDirectSend, :120-141 and :203-224)
      // copies the root's stored result down the chain unchanged.
      const root = recvbuff[order[nRanks - 1]];
      for (let e = gridOffset; e < gridOffset + channelCount; e++) for (const buff of recvbuff) buff[e] = root[e];
    }
  }
  // Every rank ends with the same lists (the broadcast copies the root's or the finisher's).
  for (let r = 1; r < nRanks; r++) {
    if (recvbuff[r].some((list, e) => list!.join() !== recvbuff[0][e]!.join())) throw new Error(`rank ${r} ends with other orders than rank 0`);
  }
  return recvbuff[0].map((list) => list!);
}

/** all_reduce.h:14-83 runRing for the rank at ring index ringIx: the calls it makes, in order. */
function ringProgram(buff: Lists, rank: number, ringIx: number, nranks: number, gridOffset: number, channelCount: number, chunkCount0: number): RankProgram {
  const ops: RankProgram['ops'] = [];
  let chunkCount = chunkCount0;
  const loopCount = nranks * chunkCount;
  const modRanks = (r: number): number => r - (r >= nranks ? nranks : 0);
  const range = (offset: number, nelem: number): number[] => Array.from({ length: Math.max(0, nelem) }, (_, i) => offset + i);
  const take = (inbox: Lists[]): Lists => {
    const msg = inbox.shift();
    if (!msg) throw new Error(`rank ${rank}: receive with nothing sent`);
    return msg;
  };
  for (let elemOffset = 0; elemOffset < channelCount; elemOffset += loopCount) {
    const remCount = channelCount - elemOffset;
    if (remCount < loopCount) chunkCount = alignUp(divUp(remCount, nranks), 16 / sizeofBf16);
    const at = (chunk: number): number[] => range(gridOffset + elemOffset + chunk * chunkCount, Math.min(chunkCount, remCount - chunk * chunkCount));
    const own = (el: number[]): Lists => el.map((e) => [...buff[e]!]);
    // step 0: directSend
    const s0 = at(modRanks(ringIx + nranks - 1));
    ops.push((_in, send) => send(own(s0)));
    // k-2 steps: directRecvReduceDirectSend
    for (let j = 2; j < nranks; ++j) {
      const el = at(modRanks(ringIx + nranks - j));
      ops.push((inbox, send) => send(take(inbox).map((list, i) => [...list!, ...buff[el[i]]!])));
    }
    // step k-1: directRecvReduceCopyDirectSend (postOp): the result is stored and sent on
    const fin = at(ringIx + 0);
    ops.push((inbox, send) => {
      const result = take(inbox).map((list, i) => [...list!, ...buff[fin[i]]!]);
      fin.forEach((e, i) => (buff[e] = result[i]));
      send(result);
    });
    // k-2 steps: directRecvCopyDirectSend
    for (let j = 1; j < nranks - 1; ++j) {
      const el = at(modRanks(ringIx + nranks - j));
      ops.push((inbox, send) => {
        const msg = take(inbox);
        el.forEach((e, i) => (buff[e] = msg[i]));
        send(msg);
      });
    }
    // directRecv: the final copy
    const last = at(modRanks(ringIx + 1));
    ops.push((inbox) => {
      const msg = take(inbox);
      last.forEach((e, i) => (buff[e] = msg[i]));
    });
  }
  return { ops };
}

/** all_reduce.h:146-225 runTreeSplit on a chain (leaf first): the reduce-up calls of a rank; the
 *  root stores its result. */
function treeUpProgram(buff: Lists, rank: number, chain: readonly number[], gridOffset: number, channelCount: number, chunkCount: number): RankProgram {
  const ops: RankProgram['ops'] = [];
  const up = chain[chain.indexOf(rank) + 1] ?? -1;
  const down0 = chain[chain.indexOf(rank) - 1] ?? -1;
  const take = (inbox: Lists[]): Lists => {
    const msg = inbox.shift();
    if (!msg) throw new Error(`rank ${rank}: receive with nothing sent`);
    return msg;
  };
  // Every rank makes one call per chunk; the chain advances one rank per step, so rank at chain
  // position p starts its calls at step p.
  for (let p = 0; p < chain.indexOf(rank); p++) ops.push(() => undefined);
  for (let elemOffset = 0; elemOffset < channelCount; elemOffset += chunkCount) {
    const offset = gridOffset + elemOffset;
    const nelem = Math.min(chunkCount, channelCount - elemOffset);
    const el = Array.from({ length: nelem }, (_, i) => offset + i);
    if (up === -1) {
      // directRecvReduceCopyDirectSend(doPost): the root's result, broadcast down unchanged.
      ops.push((inbox) => {
        const result = take(inbox).map((list, i) => [...list!, ...buff[el[i]]!]);
        el.forEach((e, i) => (buff[e] = result[i]));
      });
    } else if (down0 === -1) {
      ops.push((_in, send) => send(el.map((e) => [...buff[e]!])));
    } else {
      ops.push((inbox, send) => send(take(inbox).map((list, i) => [...list!, ...buff[el[i]]!])));
    }
  }
  return { ops };
}
