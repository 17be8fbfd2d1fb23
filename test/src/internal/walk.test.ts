/**
 * The one graph walk (src/internal/walk.ts): ownership in layer order,
 * owners, data-flow neighbours — and the structure it stands for: no other
 * library file reads a layer's nodes or a model's layers itself, floors
 * import downward only, and nothing imports pruning to describe a model.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as dp from '../../../index';
import {allNames, allNestedLayers, connectedLayers, consumersOf, inputsOf, owners, upstreamOf} from '../../../src/internal/walk';
import {tf} from '../../utils/tf';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function model() {
  const input = tf.input({shape: [4], name: 'in'});
  const branch = tf.sequential({name: 'branch', layers: [tf.layers.dense({units: 4, inputShape: [4], name: 'b1'}),
    tf.layers.dense({units: 4, name: 'b2'})]});
  const block = dp.layers.stochasticResidual({branch, rate: 0.1, name: 'block'});
  const h = tf.layers.dense({units: 4, name: 'h'}).apply(block.apply(input)) as tf.SymbolicTensor;
  const drop = dp.layers.dropPath({rate: 0.1, name: 'drop'}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.add({name: 'add'}).apply([block.apply(input) as tf.SymbolicTensor, drop]) as tf.SymbolicTensor;
  return tf.model({inputs: input, outputs: out, name: 'm'});
}

test('ownership: every nested layer once, depth first in layer order; owners; names', () => {
  const m = model();
  expect(allNestedLayers(m).map((l) => l.name)).toEqual(['in', 'block', 'branch', 'b1', 'b2', 'h', 'drop', 'add']);
  expect(allNestedLayers(m, (l) => l.name !== 'block').map((l) => l.name)).toEqual(['in', 'block', 'h', 'drop', 'add']);
  const owner = owners(m);
  expect(owner.get(m.getLayer('block'))?.name).toBe('m');
  expect(owner.get(allNestedLayers(m).find((l) => l.name === 'b2') as tf.layers.Layer)?.name).toBe('branch');
  expect(allNames(m.getLayer('block'))).toEqual(['block', 'branch', 'b1', 'b2']);
});

test('data flow: inputs, consumers, upstream and the connected graph', () => {
  const m = model();
  const [drop, add, h] = ['drop', 'add', 'h'].map((n) => m.getLayer(n));
  expect(inputsOf(drop as tf.layers.Layer).map((l) => l.name)).toEqual(['h']);
  expect(consumersOf(drop as tf.layers.Layer).map((l) => l.name)).toEqual(['add']);
  expect([...upstreamOf(h as tf.layers.Layer)].map((l) => l.name).sort()).toEqual(['block', 'in']);
  expect([...connectedLayers(add as tf.layers.Layer)].map((l) => l.name).sort()).toEqual(['add', 'block', 'drop', 'h', 'in']);
});

/** Every library source file (the floors and doors), with its text. */
function sources(): [string, string][] {
  const out: [string, string][] = [];
  const visit = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), {withFileTypes: true})) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) visit(rel);
      else if (rel.endsWith('.ts')) out.push([rel, fs.readFileSync(path.join(ROOT, rel), 'utf8')]);
    }
  };
  ['src', 'layers', 'models', 'keras'].forEach(visit);
  return out;
}

test('no library file but the walk reads inbound or outbound nodes or a wrapper\'s children', () => {
  const offenders = sources().filter(([file, text]) => file !== path.join('src', 'internal', 'walk.ts') &&
    /\.(inboundNodes|outboundNodes)\b|\.nestedLayers\(\)/.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
    .map(([file]) => file);
  // pruneBlocks and addDropPath rewrite serialized configs, whose entries have an `inboundNodes` field (JSON, not a graph).
  expect(offenders.sort()).toEqual([path.join('models', 'add_drop_path.ts'), path.join('models', 'prune.ts')]);
});

test('floors import downward only, and the summary does not import pruning', () => {
  const floor = (file: string) => ['src', 'layers', 'models', 'keras'].indexOf(file.split(path.sep)[0] as string);
  for (const [file, text] of sources()) {
    for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), m[1] as string));
      expect([file, target, floor(target) <= floor(file)]).toEqual([file, target, true]);
    }
  }
  const summary = fs.readFileSync(path.join(ROOT, 'models', 'summary.ts'), 'utf8');
  expect(summary).not.toMatch(/from '\.\/prune'/);
});
