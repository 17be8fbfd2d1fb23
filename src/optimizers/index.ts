/** Optimizers the drop-path recipes use that tf.train lacks. */
export {adamw} from './adamw';
