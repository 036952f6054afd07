/**
 * The device limits a compute engine sizes its work by. Defaults are far below what adapters
 * offer (llvmpipe's compatibility default is 128 invocations per workgroup against 1024
 * supported), so a device is asked for the adapter's maxima of exactly these.
 */
export interface ComputeLimits {
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly minStorageBufferOffsetAlignment: number;
}

/** Raised to the adapter's maximum when the device is requested. */
const RAISED_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
] as const satisfies readonly (keyof ComputeLimits)[];

export function requiredLimitsFrom(adapterLimits: GPUSupportedLimits): Record<string, number> {
  const required: Record<string, number> = {};
  for (const name of RAISED_LIMITS) required[name] = adapterLimits[name];
  return required;
}

export function computeLimitsOf(limits: GPUSupportedLimits): ComputeLimits {
  return {
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    minStorageBufferOffsetAlignment: limits.minStorageBufferOffsetAlignment,
  };
}

/** The most u32 words one buffer can hold and still be bound whole as `array<u32>`. */
export function maxWordsPerBinding(limits: ComputeLimits): number {
  return Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / 4);
}

export interface ItemRange {
  readonly first: number;
  readonly count: number;
}

export interface ChunkOptions {
  /** At most this many items per range. */
  readonly maxItems?: number;
  /** Ranges start at multiples of this many items whenever a range holds at least that many. */
  readonly alignment?: number;
}

/**
 * Splits `itemCount` items (rows, say) of `wordsPerItem` u32 words each into consecutive
 * ranges whose words fit one storage binding, so a large case runs as several dispatches
 * instead of failing validation. Items are never split across ranges.
 */
export function chunkItems(itemCount: number, wordsPerItem: number, limits: ComputeLimits, options: ChunkOptions = {}): ItemRange[] {
  if (!Number.isSafeInteger(itemCount) || itemCount < 0) {
    throw new RangeError(`chunkItems: itemCount must be a non-negative integer, got ${itemCount}`);
  }
  if (!Number.isSafeInteger(wordsPerItem) || wordsPerItem < 1) {
    throw new RangeError(`chunkItems: wordsPerItem must be a positive integer, got ${wordsPerItem}`);
  }
  const { maxItems = Number.MAX_SAFE_INTEGER, alignment = 1 } = options;
  if (!Number.isSafeInteger(maxItems) || maxItems < 1) throw new RangeError(`chunkItems: maxItems must be a positive integer, got ${maxItems}`);
  if (!Number.isSafeInteger(alignment) || alignment < 1) throw new RangeError(`chunkItems: alignment must be a positive integer, got ${alignment}`);
  const capacity = maxWordsPerBinding(limits);
  const fitting = Math.floor(capacity / wordsPerItem);
  if (fitting === 0) {
    throw new RangeError(
      `chunkItems: one item of ${wordsPerItem} words (${wordsPerItem * 4} bytes) exceeds the ` + `device's storage binding limit of ${capacity * 4} bytes`,
    );
  }
  const bounded = Math.min(fitting, maxItems);
  const itemsPerChunk = bounded >= alignment ? bounded - (bounded % alignment) : bounded;
  const ranges: ItemRange[] = [];
  for (let first = 0; first < itemCount; first += itemsPerChunk) {
    ranges.push({ first, count: Math.min(itemsPerChunk, itemCount - first) });
  }
  return ranges;
}
