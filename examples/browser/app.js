// The browser example. `?backend=webgpu` runs it on WebGPU (tfjs-backend-webgpu,
// loaded on demand); otherwise on WebGL when the browser has it, else on 'cpu'.
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement('script');
    el.src = src;
    el.onload = resolve;
    el.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(el);
  });
}

(async function main() {
  const $ = (id) => document.getElementById(id);
  const result = {};
  try {
    const wanted = new URLSearchParams(location.search).get('backend');
    result.requestedBackend = wanted || 'webgl';
    if (wanted === 'webgpu') {
      // Asked for WebGPU: no silent fallback — the page fails if it cannot run there.
      await loadScript('/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js');
      if (!(await tf.setBackend('webgpu'))) throw new Error('WebGPU backend unavailable (navigator.gpu: ' + Boolean(navigator.gpu) + ')');
    } else {
      try {
        await tf.setBackend('webgl');
      } catch (e) {
        result.webglError = String(e);
      }
      if (tf.getBackend() !== 'webgl') await tf.setBackend('cpu');
    }
    await tf.ready();
    result.backend = tf.getBackend();
    result.plugin = tfdp.version;

    // x → dense → StochasticResidual(dense, dense) → DropPath → dense head.
    const input = tf.input({shape: [8]});
    let h = tf.layers.dense({units: 16, activation: 'relu', name: 'stem'}).apply(input);
    const branch = tf.sequential({name: 'branch', layers: [
      tf.layers.dense({units: 16, activation: 'relu', inputShape: [16], name: 'branch_fc1'}),
      tf.layers.dense({units: 16, name: 'branch_fc2'}),
    ]});
    h = tfdp.layers.stochasticResidual({branch, rate: 0.3, seed: 1, name: 'residual'}).apply(h);
    h = tfdp.layers.dropPath({rate: 0.1, seed: 2, name: 'drop_path'}).apply(h);
    const output = tf.layers.dense({units: 1, name: 'head'}).apply(h);
    const model = tf.model({inputs: input, outputs: output});
    model.compile({optimizer: tf.train.adam(0.01), loss: 'meanSquaredError'});

    const xs = tf.randomNormal([128, 8], 0, 1, 'float32', 1);
    const ys = tf.sum(tf.sin(xs), 1, true);
    const losses = [];
    for (let step = 0; step < 60; step++) losses.push(await model.trainOnBatch(xs, ys));
    const mean = (v) => v.reduce((s, x) => s + x, 0) / v.length;
    result.firstLoss = mean(losses.slice(0, 5));
    result.lastLoss = mean(losses.slice(-5));
    result.lossDecreased = result.lastLoss < 0.5 * result.firstLoss;
    drawChart($('chart'), losses);

    const before = await model.predict(xs).data();
    for (const url of ['indexeddb://tfdp-browser-example', 'localstorage://tfdp-browser-example']) {
      await model.save(url);
      const loaded = await tf.loadLayersModel(url);
      const after = await loaded.predict(xs).data();
      let maxDiff = 0;
      for (let i = 0; i < before.length; i++) maxDiff = Math.max(maxDiff, Math.abs(before[i] - after[i]));
      const key = url.split(':')[0];
      result[`${key}MaxDiff`] = maxDiff;
      result[`${key}Match`] = maxDiff === 0;
      result[`${key}Classes`] = loaded.layers.map((l) => l.getClassName()).filter((c) => c === 'DropPath' || c === 'StochasticResidual');
      await tf.io.removeModel(url);
    }
    // The op, and StochasticResidual 'skip' / 'mask' × 'row' / 'batch' with a conv + BatchNorm branch, in fit.
    const op = await tfdp.dropPath(tf.ones([8, 3]), 0.5, {seed: 3}).data();
    result.opRowsOk = Array.from(op).every((v) => v === 0 || v === 2);
    result.convBlocks = {};
    for (const strategy of ['skip', 'mask']) {
      for (const mode of ['row', 'batch']) {
        result.convBlocks[`${strategy}/${mode}`] = await trainConvBlock(strategy, mode);
      }
    }
    const convOk = Object.values(result.convBlocks).every((r) => r.finite && r.weightsChanged && r.movingMeanChanged);
    result.ok = result.lossDecreased && result.indexeddbMatch && result.localstorageMatch && result.opRowsOk && convOk;
  } catch (e) {
    result.error = String(e && e.stack || e);
    result.ok = false;
  }
  window.__tfdpResult = result;
  $('results').innerHTML = Object.entries(result).map(([k, v]) =>
    `<tr><th>${k}</th><td>${typeof v === 'number' ? v.toPrecision(4) : JSON.stringify(v)}</td></tr>`).join('');
  $('status').innerHTML = result.ok ?
    `<span class="ok">success</span> on backend <b>${result.backend}</b>` :
    `<span class="bad">failed</span>${result.error ? `: ${result.error}` : ''}`;
  document.body.dataset.status = result.ok ? 'ok' : 'failed';
})();

/** A conv + BatchNorm branch in a StochasticResidual block, trained with fit for a few steps. */
async function trainConvBlock(strategy, mode) {
  const input = tf.input({shape: [6, 6, 4]});
  const branch = tf.sequential({layers: [
    tf.layers.conv2d({inputShape: [6, 6, 4], filters: 4, kernelSize: 3, padding: 'same', useBias: false}),
    tf.layers.batchNormalization(),
    tf.layers.activation({activation: 'relu'}),
  ]});
  const block = tfdp.layers.stochasticResidual({branch, rate: 0.5, mode, strategy, seed: 4});
  const pooled = tf.layers.globalAveragePooling2d({}).apply(block.apply(input));
  const model = tf.model({inputs: input, outputs: tf.layers.dense({units: 1}).apply(pooled)});
  model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
  const xs = tf.randomNormal([16, 6, 6, 4], 0, 1, 'float32', 5);
  const ys = tf.randomNormal([16, 1], 0, 1, 'float32', 6);
  const kernelBefore = await branch.layers[0].getWeights()[0].data();
  const meanBefore = await branch.layers[1].getWeights()[2].data();
  const h = await model.fit(xs, ys, {epochs: 4, batchSize: 8, verbose: 0});
  const kernelAfter = await branch.layers[0].getWeights()[0].data();
  const meanAfter = await branch.layers[1].getWeights()[2].data();
  const changed = (a, b) => a.some((v, i) => v !== b[i]);
  return {
    finite: h.history.loss.every(Number.isFinite),
    weightsChanged: changed(kernelBefore, kernelAfter),
    movingMeanChanged: changed(meanBefore, meanAfter),
  };
}

/** Loss per step as an inline SVG line chart. */
function drawChart(el, losses) {
  const w = 640;
  const h = 220;
  const pad = 40;
  const max = Math.max(...losses);
  const x = (i) => pad + (i / (losses.length - 1)) * (w - 2 * pad);
  const y = (v) => h - pad + -(v / max) * (h - 2 * pad);
  const d = losses.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  el.innerHTML = `<svg width="${w}" height="${h}" style="border:1px solid #ddd">
    <text x="${w / 2}" y="18" text-anchor="middle" font-size="13">training loss per step</text>
    <line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/>
    <line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#888"/>
    <text x="${pad - 6}" y="${y(max) + 4}" text-anchor="end" font-size="11">${max.toFixed(2)}</text>
    <text x="${pad - 6}" y="${h - pad + 4}" text-anchor="end" font-size="11">0</text>
    <text x="${w - pad}" y="${h - pad + 16}" text-anchor="end" font-size="11">step ${losses.length}</text>
    <path d="${d}" fill="none" stroke="#dd8452" stroke-width="2"/></svg>`;
}
