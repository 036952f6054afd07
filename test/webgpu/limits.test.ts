import { describe, expect, it } from 'vitest';
import { chunkItems, maxWordsPerBinding, type ComputeLimits } from '../../src/engines/webgpu/limits.js';

function limitsWith(maxStorageBufferBindingSize: number, maxBufferSize: number): ComputeLimits {
  return {
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupSizeX: 256,
    maxComputeWorkgroupStorageSize: 16384,
    maxComputeWorkgroupsPerDimension: 65535,
    maxStorageBufferBindingSize,
    maxBufferSize,
    maxStorageBuffersPerShaderStage: 8,
    minStorageBufferOffsetAlignment: 256,
  };
}

describe('maxWordsPerBinding', () => {
  it('is bounded by the smaller of the binding and buffer limits', () => {
    expect(maxWordsPerBinding(limitsWith(128 * 2 ** 20, 2 ** 31))).toBe(32 * 2 ** 20);
    expect(maxWordsPerBinding(limitsWith(2 ** 30, 256 * 2 ** 20))).toBe(64 * 2 ** 20);
    expect(maxWordsPerBinding(limitsWith(103, 2 ** 30))).toBe(25);
  });
});

describe('chunkItems', () => {
  it('covers every item once, in order, each chunk within one binding', () => {
    const limits = limitsWith(1000, 2 ** 30); // 250 words
    for (const wordsPerItem of [1, 7, 250]) {
      for (const itemCount of [0, 1, 35, 36, 37, 250, 251, 1000]) {
        const ranges = chunkItems(itemCount, wordsPerItem, limits);
        let next = 0;
        for (const range of ranges) {
          expect(range.first).toBe(next);
          expect(range.count).toBeGreaterThan(0);
          expect(range.count * wordsPerItem).toBeLessThanOrEqual(250);
          next += range.count;
        }
        expect(next).toBe(itemCount);
        // Chunks are as full as the limit allows, so the count is the minimum.
        expect(ranges.length).toBe(Math.ceil(itemCount / Math.floor(250 / wordsPerItem)));
      }
    }
  });

  it('splits a model-sized case at the 128 MiB binding limit', () => {
    // 8192 tokens x 8192 hidden x 4 bytes = 256 MiB: two chunks of 4096 rows.
    expect(chunkItems(8192, 8192, limitsWith(128 * 2 ** 20, 2 ** 31))).toEqual([
      { first: 0, count: 4096 },
      { first: 4096, count: 4096 },
    ]);
  });

  it('caps ranges at maxItems and starts them at multiples of the alignment when they hold that many', () => {
    const limits = limitsWith(1000, 2 ** 30); // 250 words
    for (const [wordsPerItem, maxItems, alignment, expectedPerChunk] of [
      [1, 1000, 4, 248], // 250 fit: rounded down to a multiple of 4
      [1, 1170, 4, 248],
      [7, 1000, 4, 32], // 35 fit
      [1, 1024, 1, 250],
      [1, 101, 4, 100], // the cap, then the alignment
      [1, 3, 4, 3], // fewer than the alignment: unaligned rather than empty
      [100, 1000, 4, 2], // 2 fit
    ] as const) {
      const ranges = chunkItems(1001, wordsPerItem, limits, { maxItems, alignment });
      expect(ranges.map((r) => r.first)).toEqual(Array.from({ length: Math.ceil(1001 / expectedPerChunk) }, (_, i) => i * expectedPerChunk));
      expect(ranges.reduce((sum, r) => sum + r.count, 0)).toBe(1001);
    }
    expect(() => chunkItems(1, 1, limits, { maxItems: 0 })).toThrow('maxItems must be a positive integer, got 0');
    expect(() => chunkItems(1, 1, limits, { alignment: 2.5 })).toThrow('alignment must be a positive integer, got 2.5');
  });

  it('names the problem when one item cannot fit or a count is not an integer', () => {
    const limits = limitsWith(1000, 2 ** 30);
    expect(() => chunkItems(1, 251, limits)).toThrow('one item of 251 words (1004 bytes) exceeds');
    expect(() => chunkItems(1.5, 1, limits)).toThrow('itemCount must be a non-negative integer, got 1.5');
    expect(() => chunkItems(1, 0, limits)).toThrow('wordsPerItem must be a positive integer, got 0');
  });
});
