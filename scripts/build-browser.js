#!/usr/bin/env node
/**
 * Browser builds of the plugin, with tfjs left OUT (the page loads its own):
 *   dist/browser/tfjs-drop-path.esm.js  ES module; imports @tensorflow/tfjs-core
 *                                       and @tensorflow/tfjs-layers (externals)
 *   dist/browser/tfjs-drop-path.min.js  <script> build after tf.min.js; reads the
 *                                       global `tf` and exposes `tfdp`
 * Fails if either bundle contains tfjs itself.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outdir = path.join(root, 'dist', 'browser');
const entry = path.join(root, 'index.ts');
const TFJS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs'];

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
  // Node's built-in modules are reached only by Node-only paths (reading a .keras file from disk, the HDF5 worker).
  const common = {entryPoints: [entry], bundle: true, target: 'es2020', sourcemap: true, logLevel: 'warning',
    legalComments: 'none', external: ['fs', 'os', 'path', 'url', 'worker_threads']};
  // The ES module leaves its npm dependencies to the user's bundler; the script-tag build carries seedrandom.
  await esbuild.build({...common, format: 'esm', external: [...common.external, ...TFJS, 'seedrandom', 'fflate'], outfile: path.join(outdir, 'tfjs-drop-path.esm.js')});
  await esbuild.build({...common, format: 'iife', globalName: 'tfdp', minify: true, plugins: [globalTf],
    outfile: path.join(outdir, 'tfjs-drop-path.min.js')});
  for (const f of ['tfjs-drop-path.esm.js', 'tfjs-drop-path.min.js']) {
    const text = fs.readFileSync(path.join(outdir, f), 'utf8');
    // Markers of a bundled tfjs: its engine and kernel registry.
    if (/ENGINE_INSTANCE|registerKernel\(|class Engine\b/.test(text) || text.length > 200000) {
      throw new Error(`${f} contains a copy of tfjs (${text.length} bytes): tfjs must stay external`);
    }
    console.log(`dist/browser/${f}: ${(text.length / 1024).toFixed(1)} KiB`);
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
