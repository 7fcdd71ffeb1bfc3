// Measures ONNX Runtime's in-process throughput (InferenceSession.run) on
// an exported model at batch 1 and 32, for comparison with backprop serve
// and backprop bench --workload infer.
//
// Usage: node ort_bench.js NODE_MODULES MODEL.onnx C,H,W [SECONDS] [THREADS]
//
// THREADS is ONNX Runtime's intra-op thread count (0, the default: its
// own choice, all cores). Prints one line per batch size, with the CPU
// time per run (all threads), steadier than wall time on a shared machine.
'use strict';
const path = require('path');

async function main() {
  const [modules, model, shapeArg, secondsArg, threadsArg] = process.argv.slice(2);
  const ort = require(path.resolve(modules, 'onnxruntime-node'));
  const sample = shapeArg.split(',').map(Number);
  const seconds = Number(secondsArg || 3);
  const threads = Number(threadsArg || 0);
  const opts = threads > 0 ? {intraOpNumThreads: threads, interOpNumThreads: 1} : {};
  const session = await ort.InferenceSession.create(model, opts);
  for (const batch of [1, 32]) {
    const shape = [batch, ...sample];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 0.5 + 0.5;
    const feeds = {input: new ort.Tensor('float32', data, shape)};
    for (let i = 0; i < 20; i++) await session.run(feeds); // warm up
    let runs = 0;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let t = t0;
    while (Number(t - t0) / 1e9 < seconds) {
      await session.run(feeds);
      runs++;
      t = process.hrtime.bigint();
    }
    const s = Number(t - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuUs = (cpu.user + cpu.system) / runs;
    console.log(`onnxruntime ${path.basename(model)} batch ${batch}: ${runs} runs in ${s.toFixed(2)} s, ${(1000 * s / runs).toFixed(3)} ms/run, ${(runs * batch / s).toFixed(0)} samples/s, ${cpuUs.toFixed(1)} cpu-µs/run (threads ${threads || 'default'})`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
