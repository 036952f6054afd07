// The package as another project gets it: `npm pack` (which builds through `prepare`), the
// tarball's file list, then the tarball unpacked into a temporary project's node_modules
// (its dependencies linked from ours: no registry here) where the README's "Use it as a
// library" commands and script run exactly as written.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = join(__dirname, '../..');
let work: string;
let tarball: string;
let files: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ulpwise-pack-'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, packed[0].filename);
  files = packed[0].files.map((f) => f.path);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The fenced block of `lang` that follows `heading` in the README. */
function readmeBlock(heading: string, lang: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README has no '${heading}'`);
  const open = readme.indexOf('```' + lang + '\n', at);
  return readme.slice(open + lang.length + 4, readme.indexOf('\n```', open));
}

describe('npm pack', () => {
  test('the tarball holds the built library, CLI, shaders, README and LICENSE; no goldens, tests, hip/ or Python', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'LICENSE', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js']));
    expect(files.some((f) => f.startsWith('shaders/') && f.endsWith('.wgsl'))).toBe(true);
    // src/ only for the measured sm_90 tables, which the built engine reads beside its sources.
    expect(files.filter((f) => f.startsWith('src/'))).toEqual([
      'src/numerics/hardware/data/sm90-rcp-approx-f32.diff.i8.gz',
      'src/numerics/hardware/data/sm90-rsqrt-approx-f32.diff.i8.gz',
    ]);
    const forbidden = files.filter(
      (f) =>
        (/^(golden|test|hip|python|notebooks|bench|src|dist\/test|dist\/bench)\//.test(f) && !f.startsWith('src/numerics/hardware/data/')) ||
        f.endsWith('.safetensors'),
    );
    expect(forbidden).toEqual([]);
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  });

  test('another project runs the README library section as written', () => {
    const project = join(work, 'project');
    const modules = join(project, 'node_modules');
    mkdirSync(join(modules, 'ulpwise'), { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', join(modules, 'ulpwise'), '--strip-components=1']);
    for (const dep of Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies)) {
      symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep));
    }
    mkdirSync(join(modules, '.bin'));
    symlinkSync('../ulpwise/dist/src/cli/main.js', join(modules, '.bin', 'ulpwise'));
    writeFileSync(join(project, 'package.json'), '{"name": "consumer", "private": true, "type": "module"}\n');
    const env = { ...process.env, PATH: `${join(modules, '.bin')}:${process.env.PATH}` };
    // The shell lines of the section (`npm install` of the tarball is what we did above).
    for (const line of readmeBlock('### Use it as a library', 'sh').split('\n')) {
      if (!line.startsWith('npx ulpwise ')) continue;
      const args = line
        .replace(/\s+#.*$/, '')
        .split(/\s+/)
        .slice(2);
      const r = spawnSync(process.execPath, [join(modules, 'ulpwise/dist/src/cli/main.js'), ...args], { cwd: project, env, encoding: 'utf8' });
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
    }
    // A preset on the measured sm_90 rsqrt reads the tables the tarball carries.
    const sm90 = spawnSync(
      process.execPath,
      [join(modules, 'ulpwise/dist/src/cli/main.js'), 'gen', '--preset', 'hf-llama@sm90', '--tokens', '2', '--hidden', '512', '--out', 'sm90'],
      {
        cwd: project,
        env,
        encoding: 'utf8',
      },
    );
    expect(sm90.status, sm90.stderr).toBe(0);
    writeFileSync(join(project, 'diff.mjs'), readmeBlock('### Use it as a library', 'js'));
    const run = spawnSync(process.execPath, ['diff.mjs'], { cwd: project, env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    // Pre-fix aiter (PR 2586) against the fixed kernel: residuals differ, and the gen command
    // for the candidate's contract names the dimension that separates them.
    expect(run.stdout).toMatch(/^golden {5}cases\/aiter-1stage\.gfx950__tp2_m4_h512_random_s0\.safetensors/m);
    expect(run.stdout).toMatch(/FAIL: out\.residual is not bit-exact/);
    expect(run.stdout).toContain('ulpwise gen --preset aiter-1stage --set allReduce.roundResult=none --ranks 2 --tokens 4 --hidden 512');
    expect(run.stderr).toBe('');
  });
});
