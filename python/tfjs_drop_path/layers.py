"""Keras 3 twins of tfjs-drop-path's layers: same class names, same config fields (snake_case), same semantics,
on Keras' TensorFlow and JAX backends.

- ``rate``: the probability of dropping a sample's branch (0 <= rate <= 1); a property over a non-trainable
  variable (``rate_variable``), so a schedule (``DropPathScheduler``) changes it inside compiled training steps.
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


class _DropLayer(keras.layers.Layer):
    """The state and the drop that DropPath and StochasticResidual share: the rate (a property over a
    non-trainable variable), the mode, the rescaling, the seeded draws and the exact-zero drop.

    Args:
        rate: float in [0, 1], the probability of dropping a sample's branch.
        mode: ``"row"`` (one draw per sample) or ``"batch"`` (one draw per call).
        scale_by_keep: bool, whether kept samples are multiplied by ``1 / (1 - rate)``.
        seed: optional integer (at most 53 bits) seeding the layer's draws.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.
    """

    _owner = "DropLayer"

    def __init__(self, rate=0.0, mode="row", scale_by_keep=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check(self._owner, rate, mode, scale_by_keep)
        self.initial_rate = float(rate)
        self.mode = mode
        self.scale_by_keep = scale_by_keep
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(_seed32(seed, self._owner))
        # A variable, so that a schedule changes it inside compiled steps (jit, tf.function, tf.distribute).
        self._rate = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_rate),
                                     trainable=False, name="rate")

    @property
    def rate(self):
        """The drop probability now (a float); assigning it validates the value and sets the variable."""
        return float(keras.ops.convert_to_numpy(self._rate))

    @rate.setter
    def rate(self, value):
        check_rate(f"{self._owner} '{self.name}'", value)
        self._rate.assign(float(value))

    @property
    def rate_variable(self):
        """The non-trainable variable holding the rate (what compiled steps read)."""
        return self._rate

    def _drop(self, x):
        rate = ops.cast(self._rate, x.dtype)
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

    def get_config(self):
        rate = self.rate
        if np.float32(rate) == np.float32(self.initial_rate):
            rate = self.initial_rate  # 0.1, not its float32 value 0.10000000149011612
        config = {"rate": rate, "mode": self.mode, "scale_by_keep": self.scale_by_keep}
        if self.seed is not None:
            config["seed"] = self.seed
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="tfjs_drop_path", name="DropPath")
class DropPath(_DropLayer):
    """Stochastic depth (drop path): drops a residual branch per sample during training.

    In training, each sample's values are zeroed with probability ``rate`` (``mode="row"``) or the whole
    batch is (``mode="batch"``), and kept samples are scaled by ``1 / (1 - rate)``; at inference the layer
    is the identity. A dropped sample is exactly 0, also where its input holds NaN or Inf, rate 1 included.
    The same class, config and semantics as tfjs-drop-path's ``DropPath``.

    Args:
        rate: float in [0, 1], the probability of dropping a sample's branch.
        mode: ``"row"`` (one draw per sample, the default) or ``"batch"``.
        scale_by_keep: bool, scale kept samples by ``1 / (1 - rate)`` (default True).
        seed: optional integer seeding the layer's draws.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Call arguments:
        inputs: a tensor of rank >= 1, the batch on axis 0.
        training: Python boolean, whether to drop (training) or pass the input through (inference).
    """

    _owner = "DropPath"

    def __init__(self, rate=0.0, mode="row", scale_by_keep=True, seed=None, **kwargs):
        super().__init__(rate=rate, mode=mode, scale_by_keep=scale_by_keep, seed=seed, **kwargs)
        self.supports_masking = True

    def call(self, x, training=None):
        return self._drop(x) if training else x

    def compute_output_shape(self, input_shape):
        return input_shape


def _as_layer(value, field):
    if isinstance(value, keras.layers.Layer):
        return value
    raise ValueError(f"StochasticResidual: {field} must be a Keras layer, but received {type(value).__name__}.")


@keras.saving.register_keras_serializable(package="tfjs_drop_path", name="StochasticResidual")
class StochasticResidual(_DropLayer):
    """A residual block with stochastic depth: ``shortcut(x) + DropPath(branch(x))``.

    ``strategy="skip"`` is a TF.js execution strategy (the dropped rows' branch is not computed there);
    under Keras' compiled steps the block computes the ``"mask"`` form, which gives the same values, and
    keeps the field so that the config round-trips.

    Args:
        branch: a Keras layer or model, the residual branch.
        shortcut: a Keras layer or model (e.g. a 1x1 convolution projection), or None for the identity.
        rate: float in [0, 1], the probability of dropping a sample's branch.
        mode: ``"row"`` (one draw per sample, the default) or ``"batch"``.
        scale_by_keep: bool, scale kept samples by ``1 / (1 - rate)`` (default True).
        seed: optional integer seeding the layer's draws.
        strategy: ``"skip"`` (default) or ``"mask"``.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Call arguments:
        inputs: the block's input tensor, the batch on axis 0.
        training: Python boolean, whether to drop (training) or not (inference).
    """

    _owner = "StochasticResidual"

    def __init__(self, branch, shortcut=None, rate=0.0, mode="row", scale_by_keep=True, seed=None, strategy="skip",
                 **kwargs):
        super().__init__(rate=rate, mode=mode, scale_by_keep=scale_by_keep, seed=seed, **kwargs)
        if strategy not in STRATEGIES:
            raise ValueError(f"StochasticResidual: strategy must be one of 'skip', 'mask', but received {strategy!r}.")
        self.branch = _as_layer(branch, "branch")
        self.shortcut = None if shortcut is None else _as_layer(shortcut, "shortcut")
        self.strategy = strategy

    def build(self, input_shape):
        for layer in (self.branch, self.shortcut):
            if layer is not None and not layer.built:
                layer.build(input_shape)
        # The two paths are added: their shapes must agree, as the TF.js layer checks.
        out = self._shape_of(self.branch, input_shape)
        short = tuple(input_shape) if self.shortcut is None else self._shape_of(self.shortcut, input_shape)
        if out[1:] != short[1:]:
            raise ValueError(f"StochasticResidual '{self.name}': the branch gives shape {out} but the "
                             f"{'identity shortcut' if self.shortcut is None else 'shortcut'} gives {short}; they are added, "
                             "so they must agree (give a projection shortcut when the branch changes the shape).")
        self.built = True

    def call(self, x, training=None):
        y = self.branch(x, training=training)
        s = x if self.shortcut is None else self.shortcut(x, training=training)
        return s + (self._drop(y) if training else y)

    @staticmethod
    def _shape_of(layer, input_shape):
        # Traced symbolically, so that a branch without compute_output_shape (a user's own layer) works too.
        return tuple(layer.compute_output_spec(keras.KerasTensor(tuple(input_shape))).shape)

    def compute_output_shape(self, input_shape):
        return self._shape_of(self.branch, input_shape)

    def get_config(self):
        return {**super().get_config(), "strategy": self.strategy,
                "branch": keras.saving.serialize_keras_object(self.branch),
                "shortcut": None if self.shortcut is None else keras.saving.serialize_keras_object(self.shortcut)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Deserializes the branch and shortcut (with ``custom_objects`` and the registered classes) first."""
        config = dict(config)
        for field in ("branch", "shortcut"):
            if isinstance(config.get(field), dict):
                config[field] = keras.saving.deserialize_keras_object(config[field], custom_objects=custom_objects)
        return cls(**config)
