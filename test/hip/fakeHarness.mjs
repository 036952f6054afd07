// A stand-in for hip/build/*/ulpwise-harness that needs no GPU, for the crosscheck tests: it
// speaks the harness's `info` and `run-suite` and writes candidates by copying each golden's
// outputs, with a fault chosen by FAKE_HARNESS_FAULT:
//   (unset)  exact copies
//   flip     the low bit of element 0 of the first case's out.norm is flipped (1 bf16 ULP)
//   drop     the first case's candidate lacks its last output tensor
//   skip     cases with more than 2 ranks are reported skipped (no candidate written)
//   fail     the first case is reported failed
// Plain JavaScript and its own safetensors code, so it shares nothing with what it tests.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [command, ...args] = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

function readSafetensors(path) {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const dataStart = 8 + headerLength;
  const tensors = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = entry.data_offsets;
    tensors.push({ name, dtype: entry.dtype, shape: entry.shape, data: Buffer.from(bytes.subarray(dataStart + begin, dataStart + end)) });
  }
  return { metadata: header.__metadata__ ?? {}, tensors };
}

function writeSafetensors(path, tensors, metadata) {
  const header = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, Buffer.from(json, 'utf8'), ...tensors.map((t) => t.data)]));
}

if (command === 'info') {
  console.log(JSON.stringify({ abi: 1, library: 'fake', path: 'fake', kernels: [{ name: 'fake-kernel', description: 'copies', presets: null, modes: ['emulated'] }] }));
} else if (command === 'run-suite') {
  const suite = option('suite');
  const out = option('out');
  const kernel = option('kernel');
  const fault = process.env.FAKE_HARNESS_FAULT ?? '';
  const manifest = JSON.parse(readFileSync(join(suite, 'manifest.json'), 'utf8'));
  console.log('[0] NCCL INFO a library printing to stdout, which crosscheck must ignore');
  manifest.cases.forEach((entry, index) => {
    const status = (s, message = '') => console.log(JSON.stringify({ file: entry.file, kernel, status: s, message }));
    if (fault === 'skip' && entry.case.ranks > 2) return status('skipped', `peer mode needs one GPU per rank: the case has ${entry.case.ranks} ranks`);
    if (fault === 'fail' && index === 0) return status('failed', 'rank 1 norm: 3 element(s) not written');
    const golden = readSafetensors(join(suite, entry.file));
    let outputs = golden.tensors.filter((t) => /^(rank\d+\.)?out\./.test(t.name));
    if (index === 0 && fault === 'flip') outputs.find((t) => t.name === 'out.norm').data[0] ^= 1;
    if (index === 0 && fault === 'drop') outputs = outputs.slice(0, -1);
    writeSafetensors(join(out, `${kernel}__${entry.file}`), outputs, golden.metadata);
    status('ok', 'copied');
  });
} else {
  console.error('usage: fakeHarness.mjs info|run-suite');
  process.exit(2);
}
