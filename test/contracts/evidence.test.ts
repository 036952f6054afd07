import { describe, expect, test } from 'vitest';
import { contractDimensions, formatCitation } from '../../src/contracts/evidence.js';
import { describeKernels, getPreset, listPresets, PRESET_DEFINITIONS } from '../../src/contracts/presets.js';
import type { Contract } from '../../src/contracts/schema.js';

// Every preset is a claim about real code: each contract dimension (derived from the schema, not
// typed again here) carries the lines that decide it, at a pinned commit.

const HEX40 = /^[0-9a-f]{40}$/;
/** Words that say a claim has no source line at a pinned commit. */
const UNPINNED_WORDS = /\bunverified\b|not verified|\bunpinned\b|not pinned|no pinned|not at the pinned/i;
const REPOSITORY = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** The leaf values of a plain JSON value, by path, walked without the schema. */
function jsonLeaves(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [path];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => jsonLeaves(v, path === '' ? k : `${path}.${k}`));
}

describe('contractDimensions', () => {
  test('covers every leaf of a contract and names only fields the contract has', () => {
    for (const preset of listPresets()) {
      const dims = contractDimensions(preset.contract);
      expect(new Set(dims).size).toBe(dims.length);
      const leaves = jsonLeaves(preset.contract);
      // Every JSON leaf sits under exactly one dimension (a union such as the tree is one dimension).
      for (const leaf of leaves)
        expect(
          dims.filter((d) => leaf === d || leaf.startsWith(`${d}.`)),
          `${preset.name}: ${leaf}`,
        ).toHaveLength(1);
      // Every dimension is a field of the contract.
      for (const d of dims)
        expect(
          leaves.some((leaf) => leaf === d || leaf.startsWith(`${d}.`)),
          `${preset.name}: ${d}`,
        ).toBe(true);
    }
  });

  test('a null quant or residual is one dimension; a present one is split into its fields', () => {
    const withQuant = getPreset('aiter-1stage-quant@gfx950').contract;
    const dims = contractDimensions(withQuant);
    expect(dims).toContain('quant.groupSize');
    expect(dims).toContain('norm.sumOfSquares.tree');
    expect(dims).not.toContain('norm.sumOfSquares.tree.kind');
    const noQuant: Contract = { ...withQuant, quant: null, residual: null };
    const plain = contractDimensions(noQuant);
    expect(plain).toContain('quant');
    expect(plain).toContain('residual');
    expect(plain.some((d) => d.startsWith('quant.') || d.startsWith('residual.'))).toBe(false);
  });
});

describe('preset evidence', () => {
  test('no preset lacks evidence for any of its dimensions, and none cites a dimension it does not have', () => {
    for (const preset of listPresets()) {
      const dims = contractDimensions(preset.contract).sort();
      expect(Object.keys(preset.evidence).sort(), preset.name).toEqual(dims);
    }
  });

  test('a kernel preset cites real lines for every dimension; a reference at least says why', () => {
    for (const preset of listPresets()) {
      for (const [dimension, ev] of Object.entries(preset.evidence)) {
        const where = `${preset.name} ${dimension}`;
        if (preset.kind === 'kernel') expect(ev.cites.length, where).toBeGreaterThan(0);
        else expect(ev.cites.length > 0 || (ev.note ?? '').length > 0, where).toBe(true);
        for (const c of ev.cites) {
          expect(c.repository, where).toMatch(REPOSITORY);
          expect(c.commit, where).toMatch(HEX40);
          expect(c.path.length, where).toBeGreaterThan(0);
          expect(c.lines[0] >= 1 && c.lines[0] <= c.lines[1], `${where} ${formatCitation(c)}`).toBe(true);
          expect(c.says.length, where).toBeGreaterThan(0);
        }
      }
    }
  });

  test('every kernel preset names its kernels at pinned commits and the architectures it holds for', () => {
    for (const p of PRESET_DEFINITIONS) {
      expect(p.architectures.length, p.name).toBeGreaterThan(0);
      if (p.kind === 'kernel') expect(p.kernels.length, p.name).toBeGreaterThan(0);
      for (const k of p.kernels) {
        expect(k.repository, p.name).toMatch(REPOSITORY);
        expect(k.commit, p.name).toMatch(HEX40);
      }
      expect(describeKernels(p).length).toBeGreaterThan(0);
    }
    expect(describeKernels(getPreset('unfused'))).toBe('reference (models no single kernel)');
  });

  test('names are unique; a per-architecture name ends in its only architecture', () => {
    const names = PRESET_DEFINITIONS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const p of PRESET_DEFINITIONS) {
      const [family, arch] = p.name.split('@');
      expect(family, p.name).toBe(p.family);
      if (arch !== undefined) expect(p.architectures, p.name).toEqual([arch]);
    }
  });

  test('a family name resolves to its default architecture: gfx950 for AMD, sm90 for NVIDIA', () => {
    expect(getPreset('aiter-1stage').name).toBe('aiter-1stage@gfx950');
    expect(getPreset('aiter-1stage-quant').name).toBe('aiter-1stage-quant@gfx950');
    expect(getPreset('flashinfer-oneshot').name).toBe('flashinfer-oneshot@sm90');
    expect(getPreset('unfused').name).toBe('unfused');
    expect(() => getPreset('aiter-1stage@gfx90a')).toThrow(/unknown preset 'aiter-1stage@gfx90a'/);
  });

  test('no preset says a claim of it is without a pinned line: every dimension cites one', () => {
    for (const preset of listPresets()) {
      const texts = [
        preset.models,
        preset.versionWindow ?? '',
        ...preset.limitations,
        ...Object.values(preset.evidence).flatMap((ev) => [ev.note ?? '', ...ev.cites.map((c) => c.says)]),
      ];
      for (const text of texts) expect(text, preset.name).not.toMatch(UNPINNED_WORDS);
    }
  });
});
