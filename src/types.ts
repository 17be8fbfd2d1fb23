/**
 * The public types the package's arguments share, in one place (the index
 * re-exports them): how a drop is drawn, carried out and configured.
 */

/** 'row': one draw per sample (axis 0); 'batch': one draw per call for the whole batch (the paper's form). */
export type DropMode = 'row' | 'batch';

/** How a StochasticResidual carries out a drop: 'skip' runs the branch on kept samples only; 'mask' runs it on all. */
export type DropStrategy = 'skip' | 'mask';

/** The drop settings every drop layer takes (DropPath, StochasticResidual). */
export interface DropSettings {
  /** Probability of dropping a sample's branch, in [0, 1]. Writable later as `layer.rate`. */
  rate: number;
  /** 'row' (default): one draw per sample; 'batch': one draw per call for the whole batch. */
  mode?: DropMode;
  /** Scale kept samples by 1/(1 − rate) (default true), so inference is the identity. */
  scaleByKeep?: boolean;
  /** Seed of the layer's decision stream: the same drops run to run, new drops every call. */
  seed?: number;
}
