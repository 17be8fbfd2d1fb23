// timm checkpoints in the browser: tfdp.loadTimmModel reads a hub folder by URL, or its two files as bytes.
'use strict';
const FIXTURES = '/test/fixtures/timm';

function row(name, value, ok) {
  const tr = document.createElement('tr');
  tr.innerHTML = `<td>${name}</td><td class="${ok ? 'ok' : 'bad'}">${value}</td>`;
  document.getElementById('results').appendChild(tr);
}

/** max |a − b| / max(1, max |b|). */
function relDiff(a, b) {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0] / Math.max(1, b.abs().max().dataSync()[0]));
}

async function main() {
  const result = {ok: false};
  for (const name of ['deit3_small', 'convnext_atto']) {
    const io = await (await fetch(`${FIXTURES}/${name}/io.json`)).json();
    const started = performance.now();
    const model = await tfdp.loadTimmModel(`${FIXTURES}/${name}`);
    const ms = Math.round(performance.now() - started);
    result[name] = relDiff(model.predict(tf.tensor(io.x, io.xShape)), tf.tensor(io.y, io.yShape));
    row(`${io.architecture} by URL: max relative |TF.js − timm|`, `${result[name].toExponential(2)} (${ms} ms)`, result[name] <= 1e-4);
  }
  // The two files as a File and an object; a new head and drop path for fine-tuning, AdamW.
  const config = await (await fetch(`${FIXTURES}/deit_tiny/config.json`)).json();
  const weights = new File([await (await fetch(`${FIXTURES}/deit_tiny/model.safetensors`)).arrayBuffer()], 'model.safetensors');
  const model = await tfdp.loadTimmModel({config, weights}, {dropPathRate: 0.1, numClasses: 3, classifierActivation: 'softmax'});
  result.rates = tfdp.dropPathSummary(model).rows.map((r) => r.rate);
  model.compile({optimizer: tfdp.optimizers.adamw({learningRate: 1e-4, weightDecay: 0.05, exclude: 'timm'}), loss: 'categoricalCrossentropy'});
  const h = await model.fit(tf.randomNormal([4, 32, 32, 3]), tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3), {epochs: 1, verbose: 0});
  result.loss = h.history.loss[0];
  row('from a File, a new head, drop path 0.1, one AdamW step: loss', result.loss.toFixed(4), Number.isFinite(result.loss));
  // A damaged file: its header declares more bytes than the file has.
  const bytes = new Uint8Array(await (await fetch(`${FIXTURES}/deit_tiny/model.safetensors`)).arrayBuffer());
  const broken = bytes.slice(0, 5000);
  result.brokenError = await tfdp.loadTimmModel({config, weights: broken}).then(() => null, (e) => e.message);
  row('a truncated model.safetensors', result.brokenError ?? 'no error', Boolean(result.brokenError));
  result.ok = result.deit3_small <= 1e-4 && result.convnext_atto <= 1e-4 && Number.isFinite(result.loss) && Boolean(result.brokenError);
  return result;
}

main().then((result) => {
  window.__tfdpTimm = result;
  document.getElementById('status').textContent = result.ok ? 'all checks passed' : 'a check failed';
  document.body.dataset.status = result.ok ? 'ok' : 'failed';
}, (e) => {
  window.__tfdpTimm = {ok: false, error: String(e && e.stack || e)};
  document.getElementById('status').textContent = `error: ${e.message}`;
  document.body.dataset.status = 'failed';
});
