import {layers} from '@tensorflow/tfjs-layers';

import {trainingPath} from '../layers/training_paths';
import type {TrainingPath} from '../layers/training_paths';
import {analyzeBlocks, blockLayers} from './blocks';
import {activeRateOf, isDropLayer} from './find_layers';
import {checkKeys} from '../src/internal/validate';

type Layer = InstanceType<typeof layers.Layer>;

/** One drop layer of a model. */
export interface DropPathRow {
  name: string;
  /** 'Dropout': a Keras stochastic-depth Dropout (noise shape [null, 1, …, 1]); DropPathScheduler schedules it like a DropPath. */
  type: 'DropPath' | 'StochasticResidual' | 'Dropout';
  mode: 'row' | 'batch';
  /** 'skip' or 'mask' for StochasticResidual; DropPath always masks. */
  strategy: 'skip' | 'mask';
  /** The layer's own rate (the one `getConfig` saves). */
  rate: number;
  /** The rate its next training call uses: a running DropPathScheduler's value, otherwise `rate`. */
  activeRate: number;
  /** Whether `pruneBlocks` can remove this block's branch (its row index is the block's index in `keep`). */
  removable: boolean;
  /**
   * The training path of the BatchNorm and ReLU layers of the block's branch
   * (and projection shortcut): one {@link TrainingPath} when they all share it,
   * 'mixed' when they differ, 'none' when the branch has none of them (or, for
   * a DropPath outside the residual form, cannot be told apart).
   */
  trainingPath: TrainingPath | 'mixed' | 'none';
}

const FAST_CANDIDATES = new Set(['BatchNormalization', 'Activation']);

function blockPath(layer: Layer): DropPathRow['trainingPath'] {
  const paths = new Set(blockLayers(layer).filter((l) => FAST_CANDIDATES.has(l.getClassName())).map(trainingPath));
  if (paths.size === 0) return 'none';
  return paths.size === 1 ? [...paths][0] as TrainingPath : 'mixed';
}

export interface DropPathSummary {
  rows: DropPathRow[];
  /** Expected number of residual branches run per sample: Σ (1 − rate). */
  expectedDepth: number;
  /** The table as text, for the console. */
  text: string;
}

/**
 * One row per DropPath / StochasticResidual layer of `model` (nested models
 * included) in depth order — the block indices of `pruneBlocks`' `keep` — with the model's expected depth, Σ (1 − rate) over them.
 * `print` (default false; `true` for console.log, or a function) prints the table.
 *
 * @example
 * dp.dropPathSummary(model, {print: true});
 */
export function dropPathSummary(model: Layer, opts: {print?: boolean | ((line: string) => void)} = {}): DropPathSummary {
  checkKeys(opts, ['print'], 'dropPathSummary(model, opts)');
  const rows: DropPathRow[] = analyzeBlocks(model).map(({layer: l, notRemovable}) => {
    const ours = isDropLayer(l);
    return {
      name: l.name,
      type: ours ? l.getClassName() as DropPathRow['type'] : 'Dropout',
      mode: ours ? l.mode : 'row',
      strategy: ours ? l.strategy : 'mask',
      rate: l.rate,
      activeRate: activeRateOf(l),
      removable: notRemovable === null,
      trainingPath: blockPath(l),
    };
  });
  const expectedDepth = rows.reduce((s, r) => s + (1 - r.rate), 0);
  const scheduled = rows.some((r) => r.activeRate !== r.rate);
  const table = [['#', 'layer', 'type', 'mode', 'strategy', 'rate', ...(scheduled ? ['scheduled'] : []), 'prunable', 'path'],
    ...rows.map((r, i) => [String(i), r.name, r.type, r.mode, r.strategy, r.rate.toFixed(4),
      ...(scheduled ? [r.activeRate.toFixed(4)] : []), r.removable ? 'yes' : 'no', r.trainingPath])];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => (r[c] as string).length)));
  const fmt = (r: string[]) => r.map((v, c) => v.padEnd(widths[c] as number)).join('  ').trimEnd();
  const text = [fmt(table[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(fmt),
    `expected depth: ${expectedDepth.toFixed(2)} of ${rows.length} drop layers`].join('\n');
  if (opts.print) (typeof opts.print === 'function' ? opts.print : console.log)(text);
  return {rows, expectedDepth, text};
}
