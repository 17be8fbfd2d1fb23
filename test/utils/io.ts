import type {io} from '@tensorflow/tfjs-core';

import {tf} from './tf';

/** Saves through tf.io.withSaveHandler (with `config`, e.g. includeOptimizer) and returns the artifacts. */
export async function saveToMemory(model: tf.LayersModel, config?: io.SaveConfig): Promise<io.ModelArtifacts> {
  let artifacts: io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }), config);
  if (!artifacts) throw new Error('the save handler was not called');
  return artifacts;
}

/** Saves to memory and loads back with tf.loadLayersModel(tf.io.fromMemory(…)). */
export async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory(await saveToMemory(model)));
}
