// A Keras 3 .keras file in the browser: tfdp.loadKerasModel with h5wasm's script build for the HDF5 weights.
'use strict';
const H5WASM = '/node_modules/h5wasm/dist/iife/h5wasm.js';
const FIXTURES = '/test/fixtures/keras';

function row(name, value, ok) {
  const tr = document.createElement('tr');
  tr.innerHTML = `<td>${name}</td><td class="${ok ? 'ok' : 'bad'}">${value}</td>`;
  document.getElementById('results').appendChild(tr);
}

function maxDiff(a, b) {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
}

async function main() {
  const result = {ok: false};
  const expected = await (await fetch(`${FIXTURES}/convnext_reduced.expected.json`)).json();
  const x = tf.tensor(expected.x, expected.input_shape);
  const want = tf.tensor(expected.y, expected.y_shape);
  const scale = want.abs().max().dataSync()[0];

  const started = performance.now();
  const byUrl = await tfdp.loadKerasModel(`${FIXTURES}/convnext_reduced.keras`, {h5wasmUrl: H5WASM});
  result.loadMs = Math.round(performance.now() - started);
  result.diffUrl = maxDiff(byUrl.predict(x), want);
  row('loaded by URL: max |TF.js − Keras|', `${result.diffUrl.toExponential(2)} (output scale ${scale.toFixed(2)}, ${result.loadMs} ms)`,
    result.diffUrl <= 1e-4 * scale);

  const bytes = await (await fetch(`${FIXTURES}/convnext_reduced.keras`)).arrayBuffer();
  const file = new File([bytes], 'convnext_reduced.keras');
  const byFile = await tfdp.loadKerasModel(file, {h5wasmUrl: H5WASM});
  result.diffFile = maxDiff(byFile.predict(x), want);
  row('loaded from a File: max |TF.js − Keras|', result.diffFile.toExponential(2), result.diffFile <= 1e-4 * scale);

  byUrl.compile({optimizer: tf.train.adam(1e-3), loss: tf.losses.softmaxCrossEntropy});
  const h = await byUrl.fit(x, tf.oneHot(tf.tensor1d([0, 1], 'int32'), expected.y_shape[1]), {epochs: 1, verbose: 0});
  result.loss = h.history.loss[0];
  row('one training step: loss', result.loss.toFixed(4), Number.isFinite(result.loss));

  // Back to a .keras file, in the page: its bytes (a download link here), read again.
  const saved = await tfdp.saveKerasModel(byFile, undefined, {h5wasmUrl: H5WASM});
  result.savedBytes = saved.length;
  const again = await tfdp.loadKerasModel(saved, {h5wasmUrl: H5WASM});
  result.diffSaved = maxDiff(again.predict(x), byFile.predict(x));
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([saved]));
  link.download = 'convnext_reduced.keras';
  link.textContent = `${(saved.length / 1024).toFixed(0)} KiB .keras`;
  row('saved back with saveKerasModel and read again: max diff', `${result.diffSaved} (${link.outerHTML})`, result.diffSaved === 0);

  // The error a load gives, or null when it loads.
  const errorOf = (promise) => promise.then(() => null, (e) => e.message);
  result.brokenError = await errorOf(tfdp.loadKerasModel(`${FIXTURES}/broken/bad_h5.keras`, {h5wasmUrl: H5WASM}));
  row('a damaged HDF5 file', result.brokenError ?? 'no error', Boolean(result.brokenError));
  // A file whose weights point at /etc/passwd (HDF5 external storage): refused, nothing outside it is read.
  result.hostileError = await errorOf(tfdp.loadKerasModel(`${FIXTURES}/hostile/external_storage_etc_passwd.keras`,
    {h5wasmUrl: H5WASM}));
  row('a file pointing outside itself', result.hostileError ?? 'no error', Boolean(result.hostileError));
  result.noUrlError = await errorOf(tfdp.loadKerasModel(file));
  row('no h5wasmUrl', result.noUrlError ?? 'no error', Boolean(result.noUrlError));
  result.ok = result.diffUrl <= 1e-4 * scale && result.diffFile <= 1e-4 * scale && Number.isFinite(result.loss) &&
    result.diffSaved === 0 &&
    Boolean(result.brokenError) && Boolean(result.hostileError) && Boolean(result.noUrlError);
  return result;
}

main().then((result) => {
  window.__tfdpKeras = result;
  document.getElementById('status').textContent = result.ok ? `success on backend ${tf.getBackend()}` : 'failed';
  document.body.dataset.status = result.ok ? 'ok' : 'failed';
}, (e) => {
  window.__tfdpKeras = {ok: false, error: String(e && e.stack || e)};
  document.getElementById('status').textContent = `failed: ${e.message}`;
  document.body.dataset.status = 'failed';
});
