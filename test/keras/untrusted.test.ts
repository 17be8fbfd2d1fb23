/**
 * Model files are untrusted input (issue 17): a file may fail to load, but it
 * never reads outside itself, never runs past its time and memory limits,
 * never hangs, and never gives a silently different model. The hostile
 * corpus: test/fixtures/keras/hostile/ (HDF5 files made with h5py by
 * make_hostile.py, committed) and test/utils/hostile.ts (archives and
 * configs made here). Each test names the refusal it expects.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {deflateSync} from 'fflate';

import * as core from '../../index';
import * as keras from '../../keras';
import {tf} from '../utils/tf';
import {ROOT, runNode} from '../utils/run_node';
import {binomialTwoSided} from '../utils/stats';
import {MODEL_FILE_LIMITS, loadTfjsModelFile} from '../../keras';

const dp = {...core, ...keras};
import * as cp from 'child_process';
import * as net from 'net';
import {HOSTILE, baseParts, denseLike, editedConfig, forgeZip, kerasTensor, withConfig} from '../utils/hostile';

const hostile = (name: string) => path.join(HOSTILE, name);
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'keras');
const load = (source: keras.KerasSource, opts?: keras.LoadKerasOptions) => dp.loadKerasModel(source, opts);
const reason = (p: Promise<unknown>) => p.then(() => 'loaded', (e: Error) => e.message);

describe('1. a model file cannot reach the disk: HDF5 features that point outside the file are refused by name', () => {
  const fifo = (JSON.parse(fs.readFileSync(hostile('corpus.json'), 'utf8')) as {fifo: string}).fifo;
  beforeAll(() => {
    // A FIFO where one file points: a read of it would block forever (0.4.0 hung until its time limit).
    if (!fs.existsSync(fifo)) cp.execFileSync('mkfifo', [fifo]);
  });
  afterAll(() => fs.rmSync(fifo, {force: true}));

  test.each([
    ['external_storage_etc_passwd.keras', /points outside itself, at "\/etc\/passwd" \(HDF5 external storage/],
    ['external_storage_environ.keras', /points outside itself, at "\/proc\/self\/environ"/],
    ['external_storage_relative.keras', /points outside itself, at ".*\.env"/],
    ['external_storage_fifo.keras', /points outside itself, at "\/tmp\/tfjs-drop-path-hostile\.fifo"/],
    ['external_link.keras', /layers\/dense\/vars\/0 is an external link to "\/tmp\/tfjs-drop-path-other\.h5"/],
    ['virtual_dataset.keras', /layers\/dense\/vars\/0 is a virtual dataset \(its values come from "\/tmp\/tfjs-drop-path-source\.h5"\)/],
    ['soft_link.keras', /layers\/dense\/vars\/0 is a soft link \(to "\/layers\/dense\/kernel_copy"\); Keras writes no links/],
  ])('%s', async (name, message) => {
    const started = Date.now();
    const got = await reason(load(hostile(name)));
    expect(got).toMatch(message);
    expect(got).toMatch(new RegExp(`^loadKerasModel\\('.*${name.replace('.', '\\.')}'\\): model\\.weights\\.h5 could not be read`));
    expect(Date.now() - started).toBeLessThan(20_000); // refused, not waited on (the FIFO)
  });

  test('the base of the corpus loads (the refusals above are the hostile parts, not the model)', async () => {
    const model = await load(hostile('base.keras'));
    expect(model.getLayer('dense').getWeights()[0]?.shape).toEqual([4, 3]);
  });

  test('keras-to-tfjs refuses a file pointing at /etc/passwd and writes nothing', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-hostile-'));
    try {
      const r = runNode(['bin/tfjs-drop-path.js', 'keras-to-tfjs', hostile('external_storage_etc_passwd.keras'), path.join(out, 'm')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/points outside itself, at "\/etc\/passwd"/);
      expect(fs.existsSync(path.join(out, 'm'))).toBe(false);
    } finally {
      fs.rmSync(out, {recursive: true, force: true});
    }
  });

  describe('tfjs-to-keras reads only the files inside the model\'s own folder', () => {
    let dir: string;
    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-manifest-'));
      const input = tf.input({shape: [4]});
      const model = tf.model({inputs: input, outputs: tf.layers.dense({units: 3, name: 'dense'}).apply(input) as tf.SymbolicTensor});
      await model.save(`file://${path.join(dir, 'good')}`);
    });
    afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));
    const withPaths = (name: string, paths: string[]) => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'good', 'model.json'), 'utf8'));
      json.weightsManifest[0].paths = paths;
      fs.mkdirSync(path.join(dir, name), {recursive: true});
      fs.writeFileSync(path.join(dir, name, 'model.json'), JSON.stringify(json));
      return path.join(dir, name, 'model.json');
    };

    test.each([
      ['../../etc/passwd', /the weight file "\.\.\/\.\.\/etc\/passwd" is not a plain path inside the model's folder/],
      ['/etc/passwd', /the weight file "\/etc\/passwd" is not a plain path inside the model's folder/],
      ['file:///etc/passwd', /is not a plain path inside the model's folder/],
    ])('a manifest path %s', (p, message) => {
      const r = runNode(['bin/tfjs-drop-path.js', 'tfjs-to-keras', withPaths('bad', [p]), path.join(dir, 'out.keras')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(fs.existsSync(path.join(dir, 'out.keras'))).toBe(false);
    });

    test('a weight file that is a symbolic link out of the folder', () => {
      const file = withPaths('linked', ['weights.bin']);
      fs.symlinkSync('/etc/passwd', path.join(dir, 'linked', 'weights.bin'));
      const r = runNode(['bin/tfjs-drop-path.js', 'tfjs-to-keras', file, path.join(dir, 'out.keras')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the weight file 'weights\.bin' leads out of the model's folder \(to '\/etc\/passwd'\)/);
    });

    test('weight files whose size is not the manifest\'s', async () => {
      const file = withPaths('short', ['weights.bin']);
      fs.writeFileSync(path.join(dir, 'short', 'weights.bin'), Buffer.alloc(20));
      await expect(loadTfjsModelFile(file)).rejects.toThrow(/hold 20 bytes, but its manifest declares 60 bytes of weights/);
    });

    test('the saved model itself converts', async () => {
      const model = await loadTfjsModelFile(path.join(dir, 'good', 'model.json'));
      expect(model.getLayer('dense').getWeights()[0]?.shape).toEqual([4, 3]);
    });
  });
});

describe('2. bounded time and memory for any file', () => {
  test.each([
    ['a node naming a missing layer', (_c: unknown, _i: unknown, dense: Record<string, unknown>) => {
      dense.inbound_nodes = [{args: [kerasTensor('ghost')], kwargs: {}}];
    }, /'tiny': layer 'dense' names the layer "ghost", which this model does not have/],
    ['a node index the layer never gets', (_c: unknown, _i: unknown, dense: Record<string, unknown>) => {
      dense.inbound_nodes = [{args: [kerasTensor('x', 5)], kwargs: {}}];
    }, /layer 'dense' takes node 5 of layer 'x', which has 1 node/],
    ['two layers that feed each other', (config: Record<string, unknown>, _i: unknown, dense: Record<string, unknown>) => {
      const layers = (config.config as {layers: unknown[]}).layers;
      dense.inbound_nodes = [{args: [kerasTensor('dense_b')], kwargs: {}}];
      layers.push(denseLike(dense, 'dense_b', [kerasTensor('dense')]));
    }, /its layers .*'dense'.* feed each other in a cycle/],
    ['an output layer the model does not have', (config: Record<string, unknown>) => {
      (config.config as Record<string, unknown>).output_layers = ['nope', 0, 0];
    }, /its output_layers names the layer "nope", which this model does not have/],
  ])('%s: refused before tfjs-layers builds it (it would loop forever)', async (_name, edit, message) => {
    const got = await reason(load(editedConfig(edit as never)));
    expect(got).toMatch(/^loadKerasModel\(bytes\): /);
    expect(got).toMatch(message);
  });

  test('a 1 KB config declaring a Dense of 2^26 units: refused before a gigabyte is allocated', async () => {
    const bytes = editedConfig((_c, _i, dense) => {
      (dense.config as Record<string, unknown>).units = 2 ** 26;
    });
    const got = await reason(load(bytes));
    expect(got).toMatch(/layer 'dense' would create the weight 'kernel' of shape \[4,67108864\] \(268,435,456 values\) where the file holds only/);
    expect(tf.memory().numBytes).toBeLessThan(2 ** 28);
  });

  test('model.weights.h5 declaring 1 GiB from a few KB deflated: refused before inflating (a zip bomb)', async () => {
    const parts = baseParts();
    const bytes = forgeZip([
      {name: 'config.json', data: parts['config.json'] as Uint8Array},
      {name: 'model.weights.h5', data: parts['model.weights.h5'] as Uint8Array, deflate: true, declaredSize: 2 ** 30},
    ]);
    expect(await reason(load(bytes))).toMatch(
        /model\.weights\.h5 declares 1024\.0 MiB from [\d,]+ bytes compressed, an expansion of \d+× where the limit maxExpansion is 20×/);
  });

  test('a deflated entry that inflates past the size it declares is stopped there', async () => {
    const parts = baseParts();
    const zeros = new Uint8Array(4 * 2 ** 20); // 4 MiB of zeros deflate to about 4 KB
    expect(deflateSync(zeros).length * 20).toBeGreaterThan(16384);
    const bytes = forgeZip([
      {name: 'config.json', data: parts['config.json'] as Uint8Array},
      {name: 'model.weights.h5', data: zeros, deflate: true, declaredSize: 16384},
    ]);
    expect(await reason(load(bytes))).toMatch(/model\.weights\.h5: it inflates to more than the 16384 bytes it declares/);
  });

  test('a stored entry declaring more bytes than the archive has', async () => {
    const parts = baseParts();
    const bytes = forgeZip([{name: 'config.json', data: parts['config.json'] as Uint8Array},
      {name: 'model.weights.h5', data: parts['model.weights.h5'] as Uint8Array}]);
    // Cut the stored weights short: the directory still declares their full size.
    const cut = Buffer.concat([bytes.subarray(0, 2000), bytes.subarray(bytes.length - 200)]);
    expect(await reason(load(new Uint8Array(cut)))).toMatch(/damaged or truncated/);
  });

  test('config.json declaring 560 MB: refused by its size, with the limit named (0.4.0 said "not UTF-8")', async () => {
    const parts = baseParts();
    const bytes = forgeZip([
      {name: 'config.json', data: new TextEncoder().encode(' '.repeat(1 << 16)), deflate: true, declaredSize: 560e6},
      {name: 'model.weights.h5', data: parts['model.weights.h5'] as Uint8Array},
    ]);
    expect(await reason(load(bytes))).toMatch(/config\.json declares 534\.1 MiB, more than the limit maxConfigBytes \(32\.0 MiB\); raise maxConfigBytes if the file is trusted/);
  });

  test('HDF5 datasets declaring more than the file holds: unused ones are never read, hard-linked ones refused', async () => {
    expect(await reason(load(hostile('unused_huge_dataset.keras')))).toMatch(/1 weight of the file found no layer: layers\/unused\/vars\/0/);
    expect(await reason(load(hostile('hardlinked_huge_dataset.keras')))).toMatch(
        /its datasets declare 2147483660 bytes of weights, more than the \d+ bytes the file holds \(the largest: layers\/dense\/vars\/\d, 1073741824 bytes/);
  });

  test('the limits are options: a trusted file may raise them, a low one refuses', async () => {
    const fixture = path.join(FIXTURES, 'convnext_reduced.keras');
    expect(await reason(load(fixture, {maxConfigBytes: 1000}))).toMatch(/config\.json declares [\d,]+ bytes, more than the limit maxConfigBytes \(1,000 bytes\)/);
    expect(await reason(load(fixture, {maxFileBytes: 1000}))).toMatch(/is 0\.3 MiB|is [\d]+ bytes, more than the limit maxFileBytes/);
    expect(await reason(load(fixture, {maxWeightsBytes: 1000}))).toMatch(/model\.weights\.h5 declares .* more than the limit maxWeightsBytes/);
    expect(MODEL_FILE_LIMITS).toEqual({maxFileBytes: 2 ** 31 - 1, maxConfigBytes: 32 * 2 ** 20, maxWeightsBytes: 4 * 2 ** 30,
      maxExpansion: 20});
  });

  test.each([
    [{h5TimeoutMs: Infinity}, /h5TimeoutMs \(ms\) must be a positive finite number no larger than 2147483647, but received Infinity/],
    [{h5TimeoutMs: 3e9}, /h5TimeoutMs \(ms\) must be .* but received 3000000000/],
    [{h5TimeoutMs: NaN}, /h5TimeoutMs \(ms\) must be .* but received NaN/],
    [{h5TimeoutMs: -5}, /h5TimeoutMs \(ms\) must be .* but received -5/],
    [null, /loadKerasModel\(source, options\) must be an object, but received null/],
    [{h5TimeoutMS: 100}, /unknown key 'h5TimeoutMS' \(did you mean 'h5TimeoutMs'\?\)/],
    [{maxExpansion: 0}, /maxExpansion must be a positive finite number/],
    [{onNote: 'yes'}, /onNote must be a function, but received "yes"/],
  ])('options %p are refused with the value named', async (opts, message) => {
    await expect(load(path.join(FIXTURES, 'convnext_reduced.keras'), opts as never)).rejects.toThrow(message);
  });

  test('nothing is written to disk: a load killed mid-read (SIGKILL, as the OOM killer does) leaves no copy of the weights', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-kill-'));
    try {
      const script = `const dp = require(${JSON.stringify(path.join(ROOT, 'dist', 'keras', 'index.js'))});
        setTimeout(() => process.kill(process.pid, 'SIGKILL'), 400);
        (async () => { for (;;) await dp.loadKerasModel(${JSON.stringify(path.join(FIXTURES, 'convnext_reduced.keras'))}); })();`;
      // node-compat first: on Node 24, tfjs-node needs it (the child would otherwise stop before the kill).
      const preamble = `require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'node_compat.js'))}); ` +
        `require(${JSON.stringify(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node'))});`;
      const r = cp.spawnSync(process.execPath, ['-e', `${preamble} ${script}`],
        {env: {...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp}, cwd: tmp, timeout: 60_000});
      expect([r.signal, r.status === null ? '' : r.stderr]).toEqual(['SIGKILL', '']);
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, {recursive: true, force: true});
    }
  });
});

describe('3. never a silently different model', () => {
  test('EfficientNetV2\'s stochastic depth (Dropout, noise shape [null, 1, 1, 1], recorded with training=False) keeps its rates, drops per sample in training, and is written back as read', async () => {
    const model = await load(path.join(FIXTURES, 'efficientnetv2_reduced.keras'));
    const drops = model.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as
      {name: string; rate: number; noiseShape: unknown; apply: tf.layers.Layer['apply']}[];
    expect(drops.map((d) => [d.name, d.rate, d.noiseShape])).toEqual([
      ['block5b_drop', 0.047619047619047616, [null, 1, 1, 1]], ['block6b_drop', 0.06666666666666668, [null, 1, 1, 1]],
      ['top_dropout', 0.2, null]]);
    // Per sample in training: whole samples zeroed, about rate · B of them.
    const block = drops[1] as (typeof drops)[number];
    const out = block.apply(tf.ones([3000, 2, 2, 3]), {training: true}) as tf.Tensor;
    const perSample = (tf.sum(tf.equal(out, 0).cast('float32'), [1, 2, 3]).dataSync());
    expect(Array.from(perSample).every((n) => n === 0 || n === 12)).toBe(true);
    const dropped = Array.from(perSample).filter((n) => n === 12).length;
    expect(dropped).toBeGreaterThan(0);
    expect(binomialTwoSided(dropped, 3000, block.rate)).toBeGreaterThan(1e-4);
    // Written back as read.
    const bytes = await dp.saveKerasModel(model);
    const again = await load(bytes);
    const back = again.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as {rate: number; noiseShape: unknown}[];
    expect(back.map((d) => [d.rate, d.noiseShape])).toEqual(drops.map((d) => [d.rate, d.noiseShape]));
  });

  test.each([
    ['Dense', {module: 'my_project.layers', registered_name: 'my_project>Dense'}, /'dense' \(Dense\): a custom layer named like Keras' Dense \(module "my_project\.layers", registered_name "my_project>Dense"\)/],
    ['Dense', {module: 'keras.layers', registered_name: 'my_project>Dense'}, /a custom layer named like Keras' Dense/],
    ['StochasticDepth', {module: 'my_project.layers', registered_name: 'my_project>StochasticDepth', config: {name: 'dense', drop_path_rate: 0.1}},
      /a custom layer named like StochasticDepth .*; only StochasticDepth from keras\.src\.applications\.convnext/],
  ])('a custom %s subclass is not read as the built-in', async (cls, fields, message) => {
    const bytes = editedConfig((_c, _i, dense) => Object.assign(dense, {class_name: cls}, fields));
    expect(await reason(load(bytes))).toMatch(message);
  });

  test('a call with an explicit mask is refused (TF.js would drop the mask), a recorded training=True is noted', async () => {
    const masked = editedConfig((_c, _i, dense) => {
      dense.inbound_nodes = [{args: [kerasTensor('x')], kwargs: {mask: kerasTensor('x')}}];
    });
    expect(await reason(load(masked))).toMatch(/'dense' \(Dense\): called with keyword arguments mask/);
    const notes: string[] = [];
    const pinned = editedConfig((_c, _i, dense) => {
      dense.inbound_nodes = [{args: [kerasTensor('x')], kwargs: {training: true}}];
    });
    await load(pinned, {onNote: (n) => notes.push(n)});
    expect(notes.join('\n')).toMatch(/'dense': called with training=True in the Keras graph; as in Keras' fit, predict and evaluate/);
  });

  test('saveKerasModel refuses a layer name Keras 3 cannot load (block/dense), naming it', async () => {
    const input = tf.input({shape: [4]});
    const model = tf.model({inputs: input, outputs: tf.layers.dense({units: 2, name: 'block/dense'}).apply(input) as tf.SymbolicTensor});
    await expect(dp.saveKerasModel(model)).rejects.toThrow(/'block\/dense' \(Dense\): its name contains '\/', which Keras 3 refuses/);
  });

  test.each([
    ['a layer named hasOwnProperty', editedConfig((c, _i, dense) => {
      dense.name = 'hasOwnProperty';
      (dense.config as Record<string, unknown>).name = 'hasOwnProperty';
      (c.config as Record<string, unknown>).output_layers = ['hasOwnProperty', 0, 0];
    }), /the layer name 'hasOwnProperty' cannot be used: it is a built-in property of every JavaScript object/],
    ['a config nested 100,000 deep', withConfig(`{"class_name": "Functional", "config": ${'['.repeat(100000)}${']'.repeat(100000)}}`),
      /config\.json nests deeper than 100 levels of arrays and objects/],
    ['a Dense whose units are a string', editedConfig((_c, _i, dense) => {
      (dense.config as Record<string, unknown>).units = 'many';
    }), /^loadKerasModel\(bytes\): TF.js could not build the model \(/],
  ])('%s: an error naming the file and what is wrong', async (_name, bytes, message) => {
    const got = await reason(load(bytes));
    expect(got).toMatch(/^loadKerasModel\(bytes\): /);
    expect(got).toMatch(message);
  });

  test('sources: a refused URL names the URL; file://localhost/ reads the right path; a bad % escape is a clear error', async () => {
    // A port nothing listens on: a server's, closed again.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const url = `http://127.0.0.1:${port}/model.keras`;
    expect(await reason(load(url))).toBe(`loadKerasModel('${url}'): GET ${url} failed (fetch failed: ECONNREFUSED).`);
    const fixture = path.join(FIXTURES, 'convnext_reduced.keras');
    const model = await load(`file://localhost${fixture}`);
    expect(model.layers.length).toBe(49);
    expect(await reason(load('file:///tmp/model%zz.keras'))).toMatch(/^loadKerasModel\('file:\/\/\/tmp\/model%zz\.keras'\): not a file URL this machine can open/);
    expect(await reason(load(os.tmpdir()))).toMatch(/is not a regular file \(a folder, a FIFO or a device\)/);
  });
});
