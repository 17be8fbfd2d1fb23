/**
 * `tfjs-drop-path/keras`: the Keras bridge, its own door. Keras 3 `.keras`
 * files into TF.js (`loadKerasModel`) and back (`saveKerasModel`), in Node.js
 * and the browser; TF.js `model.json` folders read as untrusted input
 * (`loadTfjsModelFile`, Node.js). fflate and h5wasm are loaded only through
 * this entry. Importing it also registers the core's layer classes (the
 * package's main entry need not be imported first).
 *
 * @example
 * import {loadKerasModel} from 'tfjs-drop-path/keras';
 * const model = await loadKerasModel('convnext.keras');
 */
export {loadKerasModel, loadTfjsModelFile, MODEL_FILE_LIMITS, saveKerasModel} from './bridge';
export type {KerasDestination, KerasSource, LoadKerasOptions, ModelFileLimits, SaveKerasOptions} from './bridge';
