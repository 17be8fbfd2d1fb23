/**
 * The core door in a browser app built by a real bundler (esbuild, resolving
 * the package through its exports as a user's build does): importing the
 * core pulls in no Node built-in module and no zip or HDF5 code, and a
 * bundler keeps only what the app imports.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as esbuild from 'esbuild';

import {ROOT} from '../utils/run_node';

const app = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-app-'));
beforeAll(() => {
  fs.mkdirSync(path.join(app, 'node_modules', '@tensorflow'), {recursive: true});
  fs.symlinkSync(ROOT, path.join(app, 'node_modules', 'tfjs-drop-path'));
  for (const p of ['tfjs-core', 'tfjs-layers']) {
    fs.symlinkSync(path.join(ROOT, 'node_modules', '@tensorflow', p), path.join(app, 'node_modules', '@tensorflow', p));
  }
});
afterAll(() => fs.rmSync(app, {recursive: true, force: true}));

const NODE_BUILTINS = ['fs', 'path', 'os', 'url', 'worker_threads', 'child_process', 'crypto', 'util'];

async function bundle(source: string) {
  fs.writeFileSync(path.join(app, 'main.js'), source);
  const result = await esbuild.build({entryPoints: [path.join(app, 'main.js')], bundle: true, format: 'esm', platform: 'browser',
    minify: true, write: false, metafile: true, logLevel: 'silent', external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers']});
  const output = Object.values(result.metafile.outputs)[0] as esbuild.Metafile['outputs'][string];
  const ours = Object.entries(output.inputs).filter(([file]) => /tfjs-drop-path|dist\/esm\//.test(file) && !file.includes('node_modules/seedrandom'));
  const text = result.outputFiles[0]?.text ?? '';
  return {
    text, inputs: Object.keys(output.inputs), warnings: result.warnings,
    imports: output.imports.map((i) => i.path),
    ownBytes: ours.reduce((n, [, i]) => n + i.bytesInOutput, 0),
    totalBytes: text.length,
  };
}

test('an app that imports only `layers` from the core: no Node module, no zip or HDF5 code, the package\'s share ≤ 45 KiB', async () => {
  const b = await bundle("import {layers} from 'tfjs-drop-path';\nexport const layer = layers.dropPath({rate: 0.1});\n");
  expect(b.warnings).toEqual([]);
  expect(b.imports.filter((i) => NODE_BUILTINS.includes(i.replace(/^node:/, '')))).toEqual([]);
  expect(b.imports.every((i) => i.startsWith('@tensorflow/'))).toBe(true);
  expect(b.inputs.filter((i) => /fflate|h5wasm|\/keras\/(bridge|archive|h5|translate|export)/.test(i))).toEqual([]);
  expect(b.inputs.some((i) => i.includes('dist/esm/'))).toBe(true); // the ES modules, not the CommonJS build
  expect(b.ownBytes).toBeLessThanOrEqual(45 * 1024);
  console.log(`core, layers only: ${(b.ownBytes / 1024).toFixed(1)} KiB of the package, ${(b.totalBytes / 1024).toFixed(1)} KiB in all`);
});

test('a bundler keeps only what is imported: the builders and pruning stay out of an app that uses only the op', async () => {
  const op = await bundle("import {dropPath} from 'tfjs-drop-path';\nexport const f = dropPath;\n");
  const all = await bundle("import * as dp from 'tfjs-drop-path';\nexport const f = [dp.resnet, dp.pruneBlocks, dp.dropPathSummary];\n");
  expect(op.text).not.toMatch(/pruneBlocks|stage\$\{/);
  expect(all.ownBytes).toBeGreaterThan(op.ownBytes);
  console.log(`core, the op: ${(op.ownBytes / 1024).toFixed(1)} KiB; the whole core: ${(all.ownBytes / 1024).toFixed(1)} KiB`);
});

test('the Keras door bundles for the browser on its own entry, with fflate', async () => {
  const b = await bundle("import {loadKerasModel} from 'tfjs-drop-path/keras';\nexport const f = loadKerasModel;\n");
  expect(b.inputs.some((i) => i.includes('fflate'))).toBe(true);
  console.log(`the Keras door: ${(b.ownBytes / 1024).toFixed(1)} KiB of the package, ${(b.totalBytes / 1024).toFixed(1)} KiB in all`);
});
