// Runs ONNX models in ONNX Runtime (the onnxruntime-node package) for the
// onnx package's tests.
//
// Usage: node run_ort.js NODE_MODULES MANIFEST
//
// MANIFEST is a JSON list of {model, input, dtype ("float32" or "int64"),
// shape, output}: input is a file of little-endian values of dtype, and the
// model's "output" is written to the file output as little-endian float32.
// Prints one JSON object: {output: {dims} or {error}}.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [modules, manifest] = process.argv.slice(2);
  const ort = require(path.join(modules, 'onnxruntime-node'));
  const cases = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  const results = {};
  const sessions = {};
  for (const c of cases) {
    try {
      // One thread: the tests share the machine.
      sessions[c.model] ??= await ort.InferenceSession.create(c.model, {intraOpNumThreads: 1, interOpNumThreads: 1});
      const buf = fs.readFileSync(c.input);
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      const data = c.dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
      const out = await sessions[c.model].run({input: new ort.Tensor(c.dtype, data, c.shape)});
      const y = out.output;
      if (y.type !== 'float32') throw new Error('output type ' + y.type);
      fs.writeFileSync(c.output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
      results[c.output] = {dims: y.dims.map(Number)};
    } catch (e) {
      results[c.output] = {error: String(e && e.message || e).split(/\s+/).join(' ')};
    }
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
