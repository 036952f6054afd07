// Fails on any source line longer than LIMIT characters. Prettier keeps TypeScript code within
// its printWidth (the same figure, .prettierrc.json) but leaves strings and comments as they are
// and never reads WGSL or C++; this check covers all of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const LIMIT = JSON.parse(readFileSync('.prettierrc.json', 'utf8')).printWidth;
const ROOTS = ['src', 'test', 'bench', 'fuzz', 'notebooks', 'shaders', 'hip'];
const SOURCE = /\.(ts|wgsl|cpp|h|hip|cu|cuh)$/;
const SKIP = new Set(['node_modules', 'dist', 'build']);

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.isFile() && SOURCE.test(entry.name)) yield path;
  }
}

let over = 0;
for (const path of ROOTS.flatMap((root) => [...sources(root)])) {
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const length = [...line].length; // characters, not UTF-16 units or bytes
      if (length > LIMIT) {
        console.log(`${path}:${i + 1}: ${length} characters (limit ${LIMIT})`);
        over++;
      }
    });
}
if (over > 0) {
  console.log(`${over} line(s) over ${LIMIT} characters`);
  process.exit(1);
}
