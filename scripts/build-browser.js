#!/usr/bin/env node
/**
 * Script-tag builds of the plugin, with tfjs left OUT (the page loads its own;
 * each reads the global `tf` and exposes `tfdp`):
 *   dist/browser/tfjs-drop-path.min.js        the core
 *   dist/browser/tfjs-drop-path.keras.min.js  the core and the Keras door
 *   dist/browser/tfjs-drop-path.timm.min.js   the core and the timm door
 * Bundlers use the package's ES modules (dist/esm/, the `import` condition).
 * Fails if either bundle contains tfjs itself.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outdir = path.join(root, 'dist', 'browser');
const entry = path.join(root, 'index.ts');

/** For the script-tag build: every tfjs import is the page's global `tf`. */
const globalTf = {
  name: 'global-tf',
  setup(build) {
    build.onResolve({filter: /^@tensorflow\/tfjs(-core|-layers)?$/}, (args) => ({path: args.path, namespace: 'global-tf'}));
    build.onLoad({filter: /.*/, namespace: 'global-tf'}, () => ({
      contents: "if (typeof tf === 'undefined') throw new Error('tfjs-drop-path: load tf.min.js before tfjs-drop-path.min.js'); module.exports = tf;",
      loader: 'js',
    }));
  },
};

async function main() {
  fs.mkdirSync(outdir, {recursive: true});
  fs.rmSync(path.join(outdir, 'tfjs-drop-path.esm.js'), {force: true}); // 0.4.0's; bundlers use dist/esm/ now
  // Node's built-in modules are reached only by the Keras door's Node-only paths (reading a file from disk, the HDF5 worker).
  const common = {bundle: true, target: 'es2020', sourcemap: true, logLevel: 'warning', legalComments: 'none',
    format: 'iife', globalName: 'tfdp', minify: true, plugins: [globalTf]};
  const builds = [
    // The core: the layers, builders, schedules, pruning, fast paths. No zip, HDF5 or Node module.
    {file: 'tfjs-drop-path.min.js', entryPoints: [entry], max: 110000},
    // The core and the Keras door in one script (fflate; h5wasm's own script build is loaded by its worker).
    {file: 'tfjs-drop-path.keras.min.js', max: 190000, external: ['fs', 'os', 'path', 'url', 'worker_threads'],
      stdin: {contents: "export * from './index'; export * from './keras/index';", resolveDir: root, loader: 'ts'}},
    // The core and the timm door (the safetensors reader; in the browser, checkpoints come by URL or as bytes).
    {file: 'tfjs-drop-path.timm.min.js', max: 130000, external: ['fs', 'os', 'path', 'url', 'worker_threads'],
      stdin: {contents: "export * from './index'; export * from './timm/index';", resolveDir: root, loader: 'ts'}},
  ];
  for (const b of builds) {
    await esbuild.build({...common, ...(b.stdin ? {stdin: b.stdin} : {entryPoints: b.entryPoints}), external: b.external ?? [],
      outfile: path.join(outdir, b.file)});
    const text = fs.readFileSync(path.join(outdir, b.file), 'utf8');
    // Markers of a bundled tfjs: its engine and kernel registry.
    if (/ENGINE_INSTANCE|registerKernel\(|class Engine\b/.test(text) || text.length > b.max) {
      throw new Error(`${b.file} contains a copy of tfjs or grew past ${b.max} bytes (${text.length} bytes): tfjs must stay external`);
    }
    console.log(`dist/browser/${b.file}: ${(text.length / 1024).toFixed(1)} KiB`);
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
