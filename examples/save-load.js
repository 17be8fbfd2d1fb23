/**
 * Saving and loading a model that contains DropPath with tf.io: to disk
 * (file://) and through memory (withSaveHandler / fromMemory). Importing
 * tfjs-drop-path registers the layer class, which is all loading needs.
 *
 *   npm run build && node examples/save-load.js
 */
// Quiet libtensorflow's start-up lines (README: "What you see at start-up"); values you set are kept.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
const fs = require('fs');
const os = require('os');
const path = require('path');
require('tfjs-drop-path/node-compat');  // Node 22+: before tfjs-node (README: Node.js versions)
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');

async function main() {
  const model = dp.resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 2}], dropPathRate: 0.2});
  const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 1);
  const before = model.predict(x).dataSync();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-drop-path-'));
  await model.save(`file://${dir}`);
  const fromDisk = await tf.loadLayersModel(`file://${dir}/model.json`);
  console.log(`file://: ${fs.readdirSync(dir).join(', ')}; identical: ` +
    `${fromDisk.predict(x).dataSync().every((v, i) => v === before[i])}`);
  fs.rmSync(dir, {recursive: true, force: true});

  let artifacts;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const fromMemory = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const rates = fromMemory.layers.filter((l) => l instanceof dp.DropPath).map((l) => l.rate);
  console.log(`memory: identical: ${fromMemory.predict(x).dataSync().every((v, i) => v === before[i])}; rates ${rates}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
