// Regenerates docs/contract.schema.json, the snapshot of `ulpwise presets --schema` (the JSON
// Schema of a contract, what `gen --contract FILE.json` accepts), from the built CLI:
// `npm run schema:snapshot`. test/contracts/schemaSnapshot.test.ts checks the CLI prints exactly
// this file, so a change to the schema is a reviewed change to the snapshot.
import { spawnSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';

const TARGET = 'docs/contract.schema.json';
const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'presets', '--schema'], { encoding: 'utf8' });
if (r.status !== 0) {
  console.error(`presets --schema exited ${r.status}: ${r.stderr.trim()}`);
  process.exit(1);
}
const temp = `${TARGET}.tmp-${process.pid}`;
writeFileSync(temp, r.stdout);
renameSync(temp, TARGET);
console.log(`wrote ${TARGET} (${r.stdout.length} characters)`);
