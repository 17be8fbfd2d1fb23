/**
 * `tfjs-drop-path/files` (Node.js): saves that lose nothing. `saveModelFolder`
 * writes `model.json` and its weights the way tf.io's `file://` handler does,
 * but a failed save (disk full, EFBIG, a killed process) leaves the old model
 * whole; `writeFileAtomic` does the same for one file.
 */
export {saveModelFolder, writeFileAtomic} from './internal/files';
