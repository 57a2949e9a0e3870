// Runs an ONNX model with onnxruntime-node (the daemon's runtime) for training/export.py's torch-vs-ONNX check.
// usage: node onnx_check.mjs MODEL.onnx INPUT.f32 N OUTPUT.f32
//   INPUT.f32: N*3*32*32 little-endian float32 (the `image` input); OUTPUT.f32 receives `probabilities`.
// Prints one JSON line: {"inputNames":[...],"outputNames":[...],"dims":[...]}.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const [model, input, n, output] = process.argv.slice(2);
if (!output) {
  console.error("usage: node onnx_check.mjs MODEL.onnx INPUT.f32 N OUTPUT.f32");
  process.exit(2);
}
const ort = require("onnxruntime-node");
const buf = readFileSync(input);
const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const session = await ort.InferenceSession.create(model);
const result = await session.run({ image: new ort.Tensor("float32", data, [Number(n), 3, 32, 32]) });
const out = result.probabilities;
writeFileSync(output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
console.log(JSON.stringify({ inputNames: session.inputNames, outputNames: session.outputNames, dims: out.dims }));
