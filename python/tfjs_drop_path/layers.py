"""Keras 3 twins of tfjs-drop-path's layers: same class names, same config fields (snake_case), same semantics,
on Keras' TensorFlow and JAX backends.

- ``rate``: the probability of dropping a sample's branch (0 <= rate <= 1); a non-trainable variable, so a
  schedule (``DropPathScheduler``) changes it inside compiled training steps.
- ``mode``: 'row' (one draw per sample) or 'batch' (one draw per call).
- ``scale_by_keep``: kept samples are multiplied by 1 / (1 - rate).
- A dropped sample contributes exactly 0, also where its branch holds NaN or Inf (rate 1 included).
- Identity at inference.

``StochasticResidual`` is ``shortcut(x) + DropPath(branch(x))``. Its 'skip' strategy is a TF.js execution
strategy (the dropped rows' branch is not computed); under Keras' compiled steps the twin computes the 'mask'
form, which gives the same values, and keeps the ``strategy`` field so that the config round-trips.
"""
import keras
import numpy as np
from keras import ops

MODES = ("row", "batch")
STRATEGIES = ("skip", "mask")


def _seed32(seed, owner):
    """A JS-safe integer seed mapped deterministically to the 32-bit seeds every Keras backend accepts."""
    if seed is None:
        return None
    if not isinstance(seed, int) or isinstance(seed, bool) or abs(seed) > 2**53 - 1:
        raise ValueError(f"{owner}: seed must be an integer of at most 53 bits, but received {seed!r}.")
    return (seed ^ (seed >> 32)) & 0x7FFFFFFF


def _replica():
    """(replica index tensor, replica count) inside a tf.distribute replica context of several replicas, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def check_rate(owner, rate):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"{owner}: rate must be a number in [0, 1], but received {rate!r}.")


def _check(owner, rate, mode, scale_by_keep):
    check_rate(owner, rate)
    if mode not in MODES:
        raise ValueError(f"{owner}: mode must be one of 'row', 'batch', but received {mode!r}.")
    if not isinstance(scale_by_keep, bool):
        raise ValueError(f"{owner}: scale_by_keep must be a boolean, but received {scale_by_keep!r}.")


class _DropMixin:
    """The rate variable, the seeded draws and the exact-zero drop shared by DropPath and StochasticResidual."""

    def _init_drop(self, owner, rate, mode, scale_by_keep, seed):
        _check(owner, rate, mode, scale_by_keep)
        self.initial_rate = float(rate)
        self.mode = mode
        self.scale_by_keep = scale_by_keep
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(_seed32(seed, owner))
        self.rate = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_rate),
                                    trainable=False, name="rate")

    def _drop(self, x):
        rate = ops.cast(self.rate, x.dtype)
        keep = 1.0 - rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1) if self.mode == "row" else (1,) * len(x.shape)
        replica = _replica() if self.mode == "row" else None
        if replica is None:
            u = keras.random.uniform(shape, 0.0, 1.0, seed=self.seed_generator, dtype=x.dtype)
        else:
            # tf.distribute replicas share the mirrored seed state, so each would draw the same numbers and drop the same
            # positions of its shard (keras-team/keras#18426). Every replica draws for all replicas and keeps its own
            # row: the masks are independent across replicas, as one draw over the global batch would be. ('batch'
            # mode keeps the shared draw: one decision for the global batch.)
            index, count = replica
            u = keras.random.uniform((count,) + shape, 0.0, 1.0, seed=self.seed_generator, dtype=x.dtype)
            u = ops.take(u, index, axis=0)
        mask = ops.floor(keep + u)
        if self.scale_by_keep:
            # keep is 0 only at rate 1, where every mask entry is 0: the divisor never reaches a kept sample.
            mask = mask / ops.maximum(keep, keras.config.epsilon())
        return ops.where(mask > 0, x * mask, ops.zeros_like(x))

    def _drop_config(self):
        rate = float(keras.ops.convert_to_numpy(self.rate))
        if np.float32(rate) == np.float32(self.initial_rate):
            rate = self.initial_rate  # 0.1, not its float32 value 0.10000000149011612
        config = {"rate": rate, "mode": self.mode, "scale_by_keep": self.scale_by_keep}
        if self.seed is not None:
            config["seed"] = self.seed
        return config


@keras.saving.register_keras_serializable(package="tfjs_drop_path", name="DropPath")
class DropPath(_DropMixin, keras.layers.Layer):
    def __init__(self, rate=0.0, mode="row", scale_by_keep=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._init_drop("DropPath", rate, mode, scale_by_keep, seed)
        self.supports_masking = True

    def call(self, x, training=None):
        return self._drop(x) if training else x

    def get_config(self):
        return {**super().get_config(), **self._drop_config()}


def _as_layer(value, field):
    if isinstance(value, keras.layers.Layer):
        return value
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    raise ValueError(f"StochasticResidual: {field} must be a Keras layer or its serialized config, "
                     f"but received {type(value).__name__}.")


@keras.saving.register_keras_serializable(package="tfjs_drop_path", name="StochasticResidual")
class StochasticResidual(_DropMixin, keras.layers.Layer):
    """``shortcut(x) + DropPath(branch(x))``; ``shortcut=None`` is the identity."""

    def __init__(self, branch, shortcut=None, rate=0.0, mode="row", scale_by_keep=True, seed=None, strategy="skip",
                 **kwargs):
        super().__init__(**kwargs)
        if strategy not in STRATEGIES:
            raise ValueError(f"StochasticResidual: strategy must be one of 'skip', 'mask', but received {strategy!r}.")
        self.branch = _as_layer(branch, "branch")
        self.shortcut = None if shortcut is None else _as_layer(shortcut, "shortcut")
        self.strategy = strategy
        self._init_drop("StochasticResidual", rate, mode, scale_by_keep, seed)

    def build(self, input_shape):
        for layer in (self.branch, self.shortcut):
            if layer is not None and not layer.built:
                layer.build(input_shape)
        self.built = True

    def call(self, x, training=None):
        y = self.branch(x, training=training)
        s = x if self.shortcut is None else self.shortcut(x, training=training)
        return s + (self._drop(y) if training else y)

    def compute_output_shape(self, input_shape):
        return self.branch.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), **self._drop_config(), "strategy": self.strategy,
                "branch": keras.saving.serialize_keras_object(self.branch),
                "shortcut": None if self.shortcut is None else keras.saving.serialize_keras_object(self.shortcut)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
