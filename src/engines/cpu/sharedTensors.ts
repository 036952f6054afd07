import type { Tensor } from '../../numerics/tensor.js';

// Tensors in shared memory (SharedArrayBuffer) for worker threads: a structured clone shares
// them, it does not copy them.

type TypedArrayOf<T extends Tensor> = T['data'];

function sharedZeros<T extends Tensor>(tensor: T): T {
  const data = tensor.data;
  const Typed = data.constructor as new (buffer: SharedArrayBuffer) => TypedArrayOf<T>;
  return { ...tensor, data: new Typed(new SharedArrayBuffer(data.byteLength)) };
}

function copyBytes(from: Tensor['data'], to: Tensor['data'], start: number, end: number): void {
  const size = from.BYTES_PER_ELEMENT;
  new Uint8Array(to.buffer, to.byteOffset + start * size, (end - start) * size).set(
    new Uint8Array(from.buffer, from.byteOffset + start * size, (end - start) * size),
  );
}

/** The tensor in shared memory: itself when it already lives there, else a copy. */
export function sharedTensor<T extends Tensor>(tensor: T): T {
  if (tensor.data.buffer instanceof SharedArrayBuffer) return tensor;
  const copy = sharedZeros(tensor);
  copyBytes(tensor.data, copy.data, 0, tensor.data.length);
  return copy;
}

/** A row-major tensor's copy in shared memory holding only the rows copied in so far (`copy`
 *  copies each row once); the others read as zero. The whole size is reserved, but the system
 *  gives a page memory only when a copied row first touches it: a few rows of a large case
 *  cost a few rows. */
export class SharedRows<T extends Tensor> {
  readonly tensor: T;
  private readonly copied = new Set<number>();

  constructor(
    private readonly source: T,
    private readonly rowLength: number,
  ) {
    this.tensor = sharedZeros(source);
  }

  /** Copies in the rows not copied yet. */
  copy(rows: Iterable<number>): void {
    for (const m of rows) {
      if (this.copied.has(m)) continue;
      copyBytes(this.source.data, this.tensor.data, m * this.rowLength, (m + 1) * this.rowLength);
      this.copied.add(m);
    }
  }
}
