/**
 * `tfjs-drop-path/timm`: timm checkpoints (a Hugging Face hub folder with
 * `config.json` and `model.safetensors`) into this package's `vit` and
 * `convnext`, in Node.js and the browser; the safetensors reader on its own.
 * Importing it also registers the core's layer classes.
 *
 * @example
 * import {loadTimmModel} from 'tfjs-drop-path/timm';
 * const model = await loadTimmModel('deit_tiny_patch16_224', {dropPathRate: 0.1, numClasses: 10});
 */
import '../index';

export {loadTimmModel, TIMM_ARCHITECTURES, TIMM_FILE_LIMITS} from './load';
export type {LoadTimmOptions, TimmSource} from './load';
export {readSafetensors, SAFETENSORS_DTYPES} from './safetensors';
export type {Safetensors, SafetensorsEntry} from './safetensors';
