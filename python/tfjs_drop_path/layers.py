"""DropPath for Keras 3, the twin of tfjs-drop-path's layer: same class name, same config fields
(snake_case), same semantics, on Keras' TensorFlow and JAX backends.

- ``rate``: the probability of dropping a sample's branch (0 <= rate <= 1); a non-trainable variable,
  so a schedule can change it inside compiled training steps.
- ``mode``: 'row' (one draw per sample) or 'batch' (one draw per call).
- ``scale_by_keep``: kept samples are multiplied by 1 / (1 - rate).
- A dropped sample contributes exactly 0, also where its branch holds NaN or Inf (rate 1 included).
- Identity at inference.
"""
import keras
import numpy as np
from keras import ops

MODES = ("row", "batch")


def _seed32(seed):
    """A JS-safe integer seed mapped deterministically to the 32-bit seeds every Keras backend accepts."""
    if seed is None:
        return None
    if not isinstance(seed, int) or isinstance(seed, bool) or abs(seed) > 2**53 - 1:
        raise ValueError(f"DropPath: seed must be an integer of at most 53 bits, but received {seed!r}.")
    return (seed ^ (seed >> 32)) & 0x7FFFFFFF


@keras.saving.register_keras_serializable(package="tfjs_drop_path", name="DropPath")
class DropPath(keras.layers.Layer):
    def __init__(self, rate=0.0, mode="row", scale_by_keep=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"DropPath: rate must be a number in [0, 1], but received {rate!r}.")
        if mode not in MODES:
            raise ValueError(f"DropPath: mode must be one of 'row', 'batch', but received {mode!r}.")
        if not isinstance(scale_by_keep, bool):
            raise ValueError(f"DropPath: scale_by_keep must be a boolean, but received {scale_by_keep!r}.")
        self.initial_rate = float(rate)
        self.mode = mode
        self.scale_by_keep = scale_by_keep
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(_seed32(seed))
        self.rate = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_rate),
                                    trainable=False, name="rate")
        self.supports_masking = True

    def call(self, x, training=None):
        if not training:
            return x
        rate = ops.cast(self.rate, x.dtype)
        keep = 1.0 - rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1) if self.mode == "row" else (1,) * len(x.shape)
        u = keras.random.uniform(shape, 0.0, 1.0, seed=self.seed_generator, dtype=x.dtype)
        mask = ops.floor(keep + u)
        if self.scale_by_keep:
            # keep is 0 only at rate 1, where every mask entry is 0: the divisor never reaches a kept sample.
            mask = mask / ops.maximum(keep, keras.config.epsilon())
        return ops.where(mask > 0, x * mask, ops.zeros_like(x))

    def get_config(self):
        rate = float(keras.ops.convert_to_numpy(self.rate))
        if np.float32(rate) == np.float32(self.initial_rate):
            rate = self.initial_rate  # 0.1, not its float32 value 0.10000000149011612
        config = {"rate": rate, "mode": self.mode, "scale_by_keep": self.scale_by_keep}
        if self.seed is not None:
            config["seed"] = self.seed
        return {**super().get_config(), **config}
