import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/fixtures/atomic.js';
import { corpusFiles } from './corpus.js';

// Writes fuzz/corpus/<name>.safetensors and fuzz/corpus/verdicts.json (run from the repository root).
const dir = join('fuzz', 'corpus');
mkdirSync(dir, { recursive: true });
for (const name of readdirSync(dir)) if (name.endsWith('.safetensors')) rmSync(join(dir, name));
const files = corpusFiles();
for (const f of files) writeFileAtomic(join(dir, `${f.name}.safetensors`), f.bytes);
const verdicts = files.map((f) => ({ file: `${f.name}.safetensors`, verdict: f.verdict, why: f.why }));
writeFileAtomic(join(dir, 'verdicts.json'), JSON.stringify(verdicts, null, 1) + '\n');
console.log(`wrote ${files.length} files to ${dir}`);
