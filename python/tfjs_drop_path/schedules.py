"""Rate schedules over training time and the Keras callback that applies them: twins of tfjs-drop-path's
``timeSchedules`` and ``DropPathScheduler``."""
import keras
import numpy as np

from tfjs_drop_path.layers import DropPath, StochasticResidual, check_rate


def _check_epochs(epochs, where):
    if isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or not np.isfinite(epochs) or epochs <= 0:
        raise ValueError(f"{where}: epochs must be a positive number, but received {epochs!r}.")


def constant(rate):
    check_rate("constant", rate)
    return lambda t, batch: rate


def linear_warmup(rate, epochs):
    check_rate("linear_warmup", rate)
    _check_epochs(epochs, "linear_warmup")
    return lambda t, batch: rate * min(1.0, max(0.0, t) / epochs)


def early(rate, epochs):
    check_rate("early", rate)
    _check_epochs(epochs, "early")
    return lambda t, batch: rate if t < epochs else 0.0


def late(rate, epochs):
    check_rate("late", rate)
    _check_epochs(epochs, "late")
    return lambda t, batch: 0.0 if t < epochs else rate


def drop_layers(model):
    """Every DropPath and StochasticResidual of the model, nested models and residual branches included."""
    found, seen = [], set()

    def walk(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, (DropPath, StochasticResidual)):
            found.append(layer)
        for child in getattr(layer, "_flatten_layers", lambda **_: [])(include_self=False, recursive=False):
            walk(child)
        if isinstance(layer, StochasticResidual):
            walk(layer.branch)
            if layer.shortcut is not None:
                walk(layer.shortcut)

    walk(model)
    return found


class DropPathScheduler(keras.callbacks.Callback):
    """Sets the rate variable of every DropPath / StochasticResidual in the model as training goes on.

    ``schedule(t, batch)`` gives the rate of the deepest (highest-rate) layer, t the epoch (0-based; fractional
    with ``update_every='batch'``); every other layer keeps its built proportion to it (all take the value if every
    layer was built at rate 0). The rates are variables, so the change reaches compiled steps (jit on JAX, tf.function
    and tf.distribute replicas) without recompiling. The built rates come back when training ends, so that a model
    saved after ``fit`` stores them (Keras calls no callback when ``fit`` raises: call ``restore()`` then); the
    value is logged as ``drop_path_rate``.
    """

    def __init__(self, schedule, update_every="epoch"):
        super().__init__()
        if not callable(schedule):
            raise ValueError("DropPathScheduler: schedule must be a function (t, batch) -> rate, such as "
                             f"early(0.1, 5), but received {type(schedule).__name__}.")
        if update_every not in ("epoch", "batch"):
            raise ValueError(f"DropPathScheduler: update_every must be 'epoch' or 'batch', but received {update_every!r}.")
        self.schedule = schedule
        self.update_every = update_every
        self.current_rate = None
        self._targets = []
        self._epoch = 0
        self._steps = None

    def _apply(self, t, batch):
        rate = float(self.schedule(t, batch))
        if not np.isfinite(rate) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"DropPathScheduler: the schedule must return a rate in [0, 1], but returned {rate!r} "
                             f"at t={t}, batch={batch}.")
        self.current_rate = rate
        for layer, share, _ in self._targets:
            layer.rate_variable.assign(min(1.0, rate * share))

    def on_train_begin(self, logs=None):
        layers = drop_layers(self.model)
        if not layers:
            raise ValueError(f"DropPathScheduler: model '{self.model.name}' has no DropPath or StochasticResidual layer.")
        built = [layer.rate for layer in layers]
        top = max(built)
        self._targets = [(layer, (r / top) if top > 0 else 1.0, r) for layer, r in zip(layers, built)]
        self._steps = self.params.get("steps") if self.params else None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._apply(float(epoch), 0)

    def on_train_batch_begin(self, batch, logs=None):
        if self.update_every == "batch":
            t = self._epoch + (batch / self._steps if self._steps else 0.0)
            self._apply(t, batch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.current_rate is not None:
            logs["drop_path_rate"] = self.current_rate

    def on_train_end(self, logs=None):
        self.restore()

    def restore(self):
        """Gives every layer back the rate it had when training began."""
        for layer, _, built in self._targets:
            layer.rate_variable.assign(built)
        self._targets = []
