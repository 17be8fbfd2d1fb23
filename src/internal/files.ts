/**
 * Saves that lose nothing (Node.js only; `fs` is imported when called). A
 * save either replaces the old file whole or leaves it untouched: the bytes
 * go to a temporary file beside the target, are flushed, and only then
 * renamed over it (rename is atomic within a file system). A model folder
 * (`model.json` + weights) is committed by its `model.json`: the weights are
 * written first under a name of their own content, `model.json` last, so the
 * folder holds the old set or the new one, never a mix.
 */
import {nodeModule} from './node_modules';
import type {io} from '@tensorflow/tfjs-core';

import {crc32} from './crc32';

/** Writes `bytes` to `file` atomically: the old file stays whole until the new one is complete. */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const [fs, path] = [nodeModule('fs'), nodeModule('path')];
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`);
  let handle: import('fs').promises.FileHandle | null = null;
  try {
    handle = await fs.promises.open(temp, 'wx', 0o644);
    for (let at = 0; at < bytes.length;) {
      const {bytesWritten} = await handle.write(bytes, at, bytes.length - at);
      at += bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = null;
    await fs.promises.rename(temp, file);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(temp, {force: true});
    throw e;
  }
  // The rename itself reaches the disk with the folder's entry (best effort: not every file system allows it).
  const folder = await fs.promises.open(dir, 'r').catch(() => null);
  await folder?.sync().catch(() => undefined);
  await folder?.close();
}

/** The weight files a model.json names (none when there is no readable model.json). */
async function weightFilesOf(modelJson: string): Promise<string[]> {
  const fs = nodeModule('fs');
  try {
    const json = JSON.parse(await fs.promises.readFile(modelJson, 'utf8')) as {weightsManifest?: {paths?: unknown[]}[]};
    return (json.weightsManifest ?? []).flatMap((g) => (Array.isArray(g.paths) ? g.paths : []))
      .filter((p): p is string => typeof p === 'string' && !p.includes('/') && !p.includes('\\') && p !== 'model.json');
  } catch {
    return [];
  }
}

/** Anything with a tfjs `save(handler)`: a tf.LayersModel. */
interface Saveable {
  save(handler: io.IOHandler): Promise<io.SaveResult>;
}

/**
 * Saves a model as `dir/model.json` and one weight file, as `tf.io`'s
 * `file://` handler does, losing nothing: the weights are written under a
 * name of their content (`weights.<crc32>.bin`), then `model.json` replaces
 * the old one atomically, then the previous set's weight files that the new
 * model.json no longer names are removed. `tf.loadLayersModel` reads the
 * folder as any other. Resolves with the two paths written.
 */
export async function saveModelFolder(model: Saveable, dir: string): Promise<{modelJson: string; weights: string}> {
  const [fs, path] = [nodeModule('fs'), nodeModule('path')];
  let artifacts: io.ModelArtifacts | null = null;
  await model.save({
    save: async (a: io.ModelArtifacts) => {
      artifacts = a;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    },
  });
  const a = artifacts as io.ModelArtifacts | null;
  if (!a) throw new Error(`saveModelFolder('${dir}'): the model gave nothing to save.`);
  const parts = a.weightData === undefined ? [] : Array.isArray(a.weightData) ? a.weightData : [a.weightData];
  const weightBytes = new Uint8Array(parts.reduce((n, b) => n + b.byteLength, 0));
  let at = 0;
  for (const b of parts) {
    weightBytes.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  const weightsName = `weights.${crc32(weightBytes).toString(16).padStart(8, '0')}.bin`;
  const modelJson = {
    modelTopology: a.modelTopology,
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    weightsManifest: [{paths: [weightsName], weights: a.weightSpecs ?? []}],
    ...(a.trainingConfig ? {trainingConfig: a.trainingConfig} : {}),
    ...(a.userDefinedMetadata ? {userDefinedMetadata: a.userDefinedMetadata} : {}),
    ...(a.signature ? {signature: a.signature} : {}),
    ...(a.modelInitializer ? {modelInitializer: a.modelInitializer} : {}),
  };
  await fs.promises.mkdir(dir, {recursive: true});
  const jsonPath = path.join(dir, 'model.json');
  const before = await weightFilesOf(jsonPath);
  const weightsPath = path.join(dir, weightsName);
  await writeFileAtomic(weightsPath, weightBytes);
  await writeFileAtomic(jsonPath, new TextEncoder().encode(JSON.stringify(modelJson)));
  for (const old of before) if (old !== weightsName) await fs.promises.rm(path.join(dir, old), {force: true});
  return {modelJson: jsonPath, weights: weightsPath};
}
