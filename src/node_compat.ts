/**
 * `require('tfjs-drop-path/node-compat')` (or `import 'tfjs-drop-path/node-compat'`)
 * before `@tensorflow/tfjs-node` on Node 22 and later: tfjs-node 4.22 calls
 * `util.isNullOrUndefined` (removed in Node 23; a DEP0051 warning on 22) and
 * `util.isArray` (a DEP0044 warning). This entry defines both on Node's `util`
 * module, as what they have always answered, without the warnings. Importing
 * the main entry does not: patching a built-in module is your call, made here.
 */
import {polyfillNodeUtil} from './internal/node_compat';

polyfillNodeUtil();
