/** a >> dist, OR-ing every bit shifted out into bit 0 (the sticky bit), for any dist. */
export function s_shiftRightJam32(a: number, dist: number): number {
  if (dist === 0) return a;
  if (dist < 32) return ((a >>> dist) | (a << (32 - dist) !== 0 ? 1 : 0)) >>> 0;
  return a !== 0 ? 1 : 0;
}
