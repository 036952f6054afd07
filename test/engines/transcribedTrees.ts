// Sums of squares of one row written lane by lane from the real kernels' source, independent of
// src/engines/layout and src/engines/cpu: each simulates the threads in lockstep (every lane's
// step reads the previous step's values), as the hardware runs them. f32 steps are Math.fround
// of the exact result (IEEE, subnormals kept). Sources are pinned in src/contracts/schema.ts.

const f = Math.fround;
const sq = (v: number): number => f(v * v);

/** ROCm/aiter hip_reduce.h block_reduce<float, sum, BlockSize> (gfx9, wave64) over per-thread
 *  partials: mov_dpp with row_mask 0xf, bank_mask 0xf, bound_ctrl false (an invalid source lane
 *  leaves the moved value as the lane's own), local = moved + local. */
export function aiterBlockReduce(partials: readonly number[]): number {
  type Move = (lane: number) => number | null;
  const quadPerm =
    (p: readonly number[]): Move =>
    (l) =>
      (l & ~3) + p[l & 3];
  const rowHalfMirror: Move = (l) => (l & ~7) + (7 - (l & 7));
  const rowMirror: Move = (l) => (l & ~15) + (15 - (l & 15));
  const rowBcast15: Move = (l) => (l >> 4 === 0 ? null : (l >> 4) * 16 - 1);
  const rowBcast31: Move = (l) => (l >> 4 < 2 ? null : 31);
  const dppStep = (v: number[], move: Move): number[] =>
    v.map((own, l) => {
      const src = move(l);
      const moved = src === null || src >= v.length ? own : v[src];
      return f(moved + own);
    });
  /** wave_reduce<float, sum, width>: the steps its template enables for `width`. */
  const waveReduce = (v: number[], width: number): number[] => {
    if (width > 1) v = dppStep(v, quadPerm([1, 0, 3, 2]));
    if (width > 2) v = dppStep(v, quadPerm([2, 3, 0, 1]));
    if (width > 4) v = dppStep(v, rowHalfMirror);
    if (width > 8) v = dppStep(v, rowMirror);
    if (width > 16) v = dppStep(v, rowBcast15);
    if (width > 32) v = dppStep(v, rowBcast31);
    return v;
  };
  const blockSize = partials.length;
  const waves = blockSize / 64;
  const smem: number[] = [];
  for (let w = 0; w < waves; w++) smem.push(waveReduce(partials.slice(w * 64, (w + 1) * 64), 64)[63]);
  if (waves === 1) return smem[0];
  // WARP_SIZE % waves == 0: lane l reads smem[l % waves], then wave_reduce over `waves` lanes.
  const second = waveReduce(
    Array.from({ length: 64 }, (_, l) => smem[l % waves]),
    waves,
  );
  return second[0];
}

/** aiter add_rmsnorm_quant's per-thread `square_sum += x*x` over its elements (rq.cu:142-146). */
export function aiterThreadSquares(row: Float32Array, elements: readonly number[]): number {
  let acc = 0;
  for (const e of elements) acc = f(acc + sq(e < row.length ? row[e] : 0));
  return acc;
}

/** ROCm/aiter custom_all_reduce.cuh local_device_load_rmsnorm + smemReduceSum<tnum>. */
export function aiterSmemHalving(row: Float32Array, tnum: number, packSize: number): number {
  const packs = row.length / packSize;
  const smem = new Float32Array(tnum);
  for (let t = 0; t < tnum; t++) {
    let squareSum = 0;
    for (let p = t; p < packs; p += tnum) {
      let packSum = sq(row[p * packSize]); // packReduce: ret = pack[0]; ret = op(ret, pack[i])
      for (let i = 1; i < packSize; i++) packSum = f(packSum + sq(row[p * packSize + i]));
      squareSum = f(squareSum + packSum);
    }
    smem[t] = squareSum;
  }
  for (let stride = tnum / 2; stride > 32; stride >>= 1) for (let t = 0; t < stride; t++) smem[t] = f(smem[t] + smem[t + stride]);
  // One wave in lockstep: lanes 0..31 read, then write.
  for (const offset of [32, 16, 8, 4, 2, 1]) {
    const read = Array.from({ length: 32 }, (_, t) => f(smem[t] + smem[t + offset]));
    read.forEach((v, t) => (smem[t] = v));
  }
  return smem[0];
}

/** cub WarpReduceShfl (shfl.down, offsets 1, 2, 4, 8, 16; a peer past the last valid lane is
 *  skipped) and BlockReduceWarpReductions (thread 0 adds the warp aggregates in order) over
 *  `valid` threads' partials. */
export function cubBlockReduce(partials: readonly number[], warpSize: number): number {
  const aggregates: number[] = [];
  for (let base = 0; base < partials.length; base += warpSize) {
    let v = partials.slice(base, base + warpSize);
    const lastLane = v.length - 1;
    for (let offset = 1; offset < warpSize; offset <<= 1) v = v.map((own, l) => (l + offset <= lastLane ? f(own + v[l + offset]) : own));
    aggregates.push(v[0]);
  }
  let total = aggregates[0];
  for (let w = 1; w < aggregates.length; w++) total = f(total + aggregates[w]);
  return total;
}

/** vLLM's per-thread sum over vectors t, t+B, .. of `width` elements: flat `variance += x*x`
 *  (rms_norm, the scalar path), or fused_add_rms_norm's `variance += temp.sum_squares()` where
 *  sum_squares starts each vector from 0 and adds x0*x0 + x1*x1 per pair (type_convert.cuh),
 *  contracted as nvcc sm_90 emits it (FMUL x1*x1, FFMA x0*x0 + that, FADD) when `fmaPair`. */
export function vllmThreadPartial(
  row: Float32Array,
  t: number,
  block: number,
  width: number,
  mode: 'flat' | 'pairs' | 'pairs-fma',
  fma: (a: number, b: number, c: number) => number,
): number {
  let variance = 0;
  for (let v = t; v < row.length / width; v += block) {
    if (mode === 'flat') {
      for (let k = 0; k < width; k++) variance = f(variance + sq(row[v * width + k]));
      continue;
    }
    let result = 0;
    for (let k = 0; k < width; k += 2) {
      const x0 = row[v * width + k];
      const x1 = row[v * width + k + 1];
      result = f(result + (mode === 'pairs' ? f(sq(x0) + sq(x1)) : fma(x0, x0, sq(x1))));
    }
    variance = f(variance + result);
  }
  return variance;
}

/** FlashInfer utils::blockReduceSumV2<float, 1> (warpReduceSumV2 / warpReduceSumPartialV2: xor
 *  masks 16..1, a partial warp adding only partners below its tail) over one block's threads;
 *  thread 0's value. */
export function flashinferBlockReduce(partials: readonly number[]): number {
  const warpReduce = (v: number[], active: number): number[] => {
    for (let mask = 16; mask > 0; mask >>= 1) v = v.map((own, l) => ((l ^ mask) < active ? f(own + v[l ^ mask]) : own));
    return v;
  };
  const blockDim = partials.length;
  const warpCount = Math.ceil(blockDim / 32);
  const tail = blockDim & 31;
  const shared: number[] = [];
  for (let w = 0; w < warpCount; w++) {
    const lanes = Array.from({ length: 32 }, (_, l) => (w * 32 + l < blockDim ? partials[w * 32 + l] : 0));
    shared.push(warpReduce(lanes, tail !== 0 && w === warpCount - 1 ? tail : 32)[0]);
  }
  const second = Array.from({ length: 32 }, (_, l) => (l < warpCount ? shared[l] : 0));
  return warpReduce(second, tail !== 0 && warpCount === 1 ? tail : 32)[0];
}

/** FlashInfer rms_norm on SM90 with a cluster: each block's blockReduceSumV2, then thread 0:
 *  acc = 0; acc += partial of block i for i = 0, 1, .. */
export function flashinferCluster(
  row: Float32Array,
  clusterSize: number,
  threadsPerBlock: number,
  vec: number,
  fma: (a: number, b: number, c: number) => number,
  contracted: boolean,
): number {
  let acc = 0;
  for (let b = 0; b < clusterSize; b++) {
    const partials = Array.from({ length: threadsPerBlock }, (_, t) => {
      let a = 0;
      for (let i = 0; i < vec; i++) {
        const v = row[(b * threadsPerBlock + t) * vec + i];
        a = contracted ? fma(v, v, a) : f(a + sq(v));
      }
      return a;
    });
    acc = f(acc + flashinferBlockReduce(partials));
  }
  return acc;
}

/** Triton tl.sum(x*x) of a 1-D blocked layout: in-thread treeReduce (arity 2) or the older
 *  accumulate loop, then warpReduce (NVIDIA: shuffle xor 16..1; AMD gfx90a+ wave64: DPP row_shr
 *  8, 4, 2, 1 with bound_ctrl (an invalid lane reads 0), row_bcast:15 on rows 1 and 3,
 *  row_bcast:31, readlane 63), lane 0 of each warp to shared memory, then shuffle xor over the
 *  warps. Masked elements (past H) load 0. */
export function tritonSum(row: Float32Array, block: number, sizePerThread: number, warpSize: number, numWarps: number, threadReduce: 'tree' | 'chain'): number {
  const threads = warpSize * numWarps;
  const tile = sizePerThread * threads;
  const threadValue = (t: number): number => {
    const regs: number[] = [];
    for (let r = 0; r < block / tile; r++)
      for (let k = 0; k < sizePerThread; k++) {
        const e = r * tile + t * sizePerThread + k;
        regs.push(sq(e < row.length ? row[e] : 0));
      }
    if (threadReduce === 'chain') return regs.reduce((acc, v) => f(acc + v));
    let level = regs;
    while (level.length > 1) {
      const next: number[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? f(level[i] + level[i + 1]) : level[i]);
      level = next;
    }
    return level[0];
  };
  const shuffleXor = (v: number[]): number[] => {
    for (let mask = v.length / 2; mask > 0; mask >>= 1) v = v.map((own, l) => f(own + v[l ^ mask]));
    return v;
  };
  const amdDpp = (v: number[]): number[] => {
    for (const shift of [8, 4, 2, 1]) v = v.map((own, l) => f(own + ((l & 15) >= shift ? v[l - shift] : 0)));
    v = v.map((own, l) => ((l >> 4) % 2 === 1 ? f(own + v[(l >> 4) * 16 - 1]) : own));
    v = v.map((own, l) => f(own + (l >> 4 >= 2 ? v[31] : 0)));
    return v.map(() => v[63]);
  };
  const warpTotals: number[] = [];
  for (let w = 0; w < numWarps; w++) {
    const lanes = Array.from({ length: warpSize }, (_, l) => threadValue(w * warpSize + l));
    warpTotals.push((warpSize === 32 ? shuffleXor(lanes) : amdDpp(lanes))[0]);
  }
  return numWarps === 1 ? warpTotals[0] : shuffleXor(warpTotals)[0];
}

/** CUDA's __shfl_down_sync over one warp's values in lockstep: lane l reads lane l + offset, or
 *  its own value when that lane is past the warp. */
function shflDown(v: readonly number[], offset: number): number[] {
  return v.map((own, l) => (l + offset < v.length ? v[l + offset] : own));
}

/** torch eager's mean(-1) sum on CUDA (torch 2.11.0 Reduce.cuh, SPECS.md T1) over squares
 *  RN(x*x) (the pow(2) kernel's output), for a block (bw, bh) that the caller derives by hand from
 *  setReduceConfig; `rowOverWarps`: input_mult[BLOCK_Y] set (the row split over block.y).
 *  ReduceOp::run (bvillasen/pytorch@1718974f Reduce.cuh:419-424): thread_reduce, then block_x_reduce
 *  on every block row, then block_y_reduce if split; thread (0, 0)'s value. */
export function torchReduceCuh(row: Float32Array, bw: number, bh: number, rowOverWarps: boolean, offsets: 'decreasing' | 'increasing'): number {
  const vec = 4;
  const end = row.length;
  const stepInput = rowOverWarps ? bw * bh : bw;
  const rows = rowOverWarps ? bh : 1; // block rows that share this output
  // value[y][x]
  const value: number[][] = [];
  for (let y = 0; y < rows; y++) {
    value.push([]);
    for (let x = 0; x < bw; x++) {
      // input_idx() = lane * input_mult[0] + warp * input_mult[1]; input_mult[0] = 1, input_mult[1] = bw
      let idx = x + (rowOverWarps ? y * bw : 0);
      const valueList = [0, 0, 0, 0];
      while (idx * vec + vec - 1 < end) {
        for (let i = 0; i < vec; i++) valueList[i] = f(valueList[i] + sq(row[idx * vec + i]));
        idx += stepInput;
      }
      for (let i = 1; i < vec; i++) valueList[0] = f(valueList[0] + valueList[i]);
      value[y].push(valueList[0]);
    }
  }
  // block_x_reduce on every block row: shared-memory halving while wider than a warp, then the
  // warp's shuffles; lane (0, y) holds row y's sum.
  const blockX = (row: number[]): number => {
    let lanes = row;
    let dimX = bw;
    if (dimX > 32) {
      for (let offset = dimX / 2; offset >= 32; offset >>= 1) {
        const shared = [...lanes];
        lanes = lanes.map((own, x) => (x < offset && x + offset < bw ? f(own + shared[x + offset]) : own));
      }
      dimX = 32;
    }
    let warp = lanes.slice(0, dimX);
    const order = (offsets === 'decreasing' ? [16, 8, 4, 2, 1] : [1, 2, 4, 8, 16]).filter((offset) => offset < dimX);
    for (const offset of order) {
      const other = shflDown(warp, offset);
      warp = warp.map((own, l) => f(own + other[l]));
    }
    return warp[0];
  };
  const column = value.map(blockX);
  // block_y_reduce if split: shared[x + y*bw]; for offset = bh/2 .. 1, rows y < offset add row y + offset.
  for (let offset = column.length >> 1; offset > 0; offset >>= 1) {
    const shared = [...column];
    for (let y = 0; y < offset; y++) if (y + offset < column.length) column[y] = f(column[y] + shared[y + offset]);
  }
  return column[0];
}

/** torch's fused RMSNorm statistics: compute_stats<T, rms_norm=true> (layer_norm_kernel.cu
 *  L178-238) with blockDim (32, 4): `sigma2 + val*val` per element as nvcc contracts it (one
 *  FFMA), warp shfl_down 16..1 with cuWelfordCombine (sigma2 sum), then the upper half of the
 *  warps through meansigmabuf onto the lower half. Warp 0 lane 0's sigma2 (before / N). */
export function torchRmsNormSumSquares(row: Float32Array, fma: (a: number, b: number, c: number) => number): number {
  const bx = 32;
  const by = 4;
  const numx = bx * by;
  const nVec = row.length / 4;
  const sigma2: number[][] = [];
  for (let ty = 0; ty < by; ty++) {
    sigma2.push([]);
    for (let tx = 0; tx < bx; tx++) {
      let s = 0;
      for (let i = tx + ty * bx; i < nVec; i += numx) for (let ii = 0; ii < 4; ii++) s = fma(row[i * 4 + ii], row[i * 4 + ii], s);
      sigma2[ty].push(s);
    }
  }
  for (let ty = 0; ty < by; ty++)
    for (let offset = bx >> 1; offset > 0; offset >>= 1) {
      const other = shflDown(sigma2[ty], offset);
      sigma2[ty] = sigma2[ty].map((own, l) => f(other[l] + own));
    }
  const warpValue = sigma2.map((w) => w[0]);
  for (let offset = by / 2; offset > 0; offset = Math.floor(offset / 2)) {
    const buf: number[] = [];
    for (let ty = offset; ty < 2 * offset; ty++) buf[ty - offset] = warpValue[ty];
    for (let ty = 0; ty < offset; ty++) warpValue[ty] = f(buf[ty] + warpValue[ty]);
  }
  return warpValue[0];
}

/** An Inductor-generated reduction of x*x (SPECS.md T3; Inductor's code and Triton 3.6 PTX in
 *  conformance/dumps) for XBLOCK's one row: R0_BLOCK `rBlock`, blocked layout sizePerThread s,
 *  32 lanes, `numWarps` warps. The generated loop: `_tmp = where(r0_mask & xmask, _tmp + x*x,
 *  _tmp)` per register, then tl.sum(_tmp): registers added in order from r0 + r1 (Triton 3.6
 *  reduceWithinThreads), lanes by shfl.bfly 16..1, warps by a butterfly through shared memory.
 *  With one iteration (rBlock >= H) the where is a select of x*x against 0. `contract`: LLVM on
 *  the one-iteration chain, as a little rewrite system: a row mask it proves true for every
 *  thread leaves the x mask alone (true for this row); two selects of one predicate under an add
 *  become one select of the add; fadd(fmul a a, c) becomes fma(a, a, c), the first operand tried
 *  first. A masked load reads 0. */
export function inductorSumSquares(
  row: Float32Array,
  rBlock: number,
  s: number,
  numWarps: number,
  contract: boolean,
  fma: (a: number, b: number, c: number) => number,
): number {
  const hidden = row.length;
  const threads = 32 * numWarps;
  const tile = s * threads;
  const registers = (rBlock / tile) * s;
  const offsetOf = (t: number, j: number): number => Math.floor(j / s) * tile + t * s + (j % s);
  type Term = { kind: 'product'; x: number } | { kind: 'value'; v: number } | { kind: 'select'; predicate: string; on: boolean; inner: Term };
  const valueOf = (term: Term): number => {
    if (term.kind === 'product') return sq(term.x);
    if (term.kind === 'value') return term.v;
    return term.on ? valueOf(term.inner) : 0;
  };
  const fadd = (a: Term, b: Term): Term => {
    if (contract && a.kind === 'select' && b.kind === 'select' && a.predicate === b.predicate) return { ...a, inner: fadd(a.inner, b.inner) };
    if (contract && a.kind === 'product') return { kind: 'value', v: fma(a.x, a.x, valueOf(b)) };
    if (contract && b.kind === 'product') return { kind: 'value', v: fma(b.x, b.x, valueOf(a)) };
    return { kind: 'value', v: f(valueOf(a) + valueOf(b)) };
  };
  const load = (e: number): number => (e < hidden ? row[e] : 0);
  const threadValue = (t: number): number => {
    let regs: Term[];
    if (rBlock < hidden) {
      regs = [];
      for (let j = 0; j < registers; j++) {
        let acc: Term = { kind: 'value', v: 0 };
        for (let base = 0; base < hidden; base += rBlock) {
          const e = base + offsetOf(t, j);
          if (e < hidden) acc = fadd(acc, { kind: 'product', x: row[e] }); // the select is after the add
        }
        regs.push(acc);
      }
    } else {
      regs = Array.from({ length: registers }, (_, j): Term => {
        const e = offsetOf(t, j);
        const rep = Math.floor(j / s);
        // r0_mask & xmask: the row mask folds to true where every thread's element is inside.
        const predicate = offsetOf(threads - 1, rep * s + s - 1) < hidden ? 'xmask' : `xmask & r0_mask(rep ${rep})`;
        return { kind: 'select', predicate, on: e < hidden, inner: { kind: 'product', x: load(e) } };
      });
    }
    let acc = regs[0];
    for (let j = 1; j < regs.length; j++) acc = fadd(acc, regs[j]);
    return valueOf(acc);
  };
  const butterfly = (v: number[]): number[] => {
    for (let mask = v.length >> 1; mask > 0; mask >>= 1) v = v.map((own, l) => f(own + v[l ^ mask]));
    return v;
  };
  const warpTotals = Array.from({ length: numWarps }, (_, w) => butterfly(Array.from({ length: 32 }, (_, l) => threadValue(w * 32 + l)))[0]);
  return butterfly(warpTotals)[0];
}
