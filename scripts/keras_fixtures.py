"""Keras 3 fixtures for the Keras bridge (issue 12), from the local wheels.

Builds small models with Keras itself (fixed seeds), perturbs every weight
(random init hides mistakes: a layer scale of 1e-6 makes a branch invisible,
BatchNorm statistics of 0 and 1 hide a swapped variable order), saves each as
`.keras`, and writes `<name>.expected.json`: fixed inputs and Keras' outputs
(logits, no softmax) in inference mode.

Usage: python scripts/keras_fixtures.py OUT_DIR [--large] [--only NAME]
  --large also writes ConvNeXt-Tiny's configuration (about 110 MB), EfficientNetB0 and EfficientNetV2B0
    (full size; none committed).
  --only NAME writes that fixture alone: stochastic_depth_family, or large (the full-size ones alone).
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras.src.applications import convnext, efficientnet, efficientnet_v2  # noqa: E402


def perturb(model, seed, amount=0.5):
    """Every weight, moving statistics included, moved by a seeded amount of its own scale."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        v = np.asarray(w.numpy())
        scale = float(np.abs(v).mean()) if v.size and np.abs(v).mean() > 0 else 1.0
        noise = rng.normal(0.0, amount * max(scale, 0.05), size=v.shape).astype(v.dtype)
        if "variance" in w.path:
            w.assign(np.abs(v + noise) + 0.1)  # a variance stays positive
        elif "layer_scale" in w.path or w.path.endswith("gamma") and v.size and np.allclose(v, v.flat[0]):
            w.assign(rng.uniform(0.5, 1.5, size=v.shape).astype(v.dtype))  # visible branches
        else:
            w.assign(v + noise)


def convnext_model(depths, dims, rate, size, classes, name):
    return convnext.ConvNeXt(
        depths=depths, projection_dims=dims, drop_path_rate=rate, default_size=size,
        name=name, include_preprocessing=True, include_top=True, weights=None,
        input_shape=(size, size, 3), classes=classes, classifier_activation=None)


def write(model, out_dir, name, input_shape, seed):
    path = os.path.join(out_dir, f"{name}.keras")
    model.save(path)
    rng = np.random.default_rng(seed + 1000)
    x = rng.uniform(0, 255, size=(2,) + tuple(input_shape)).astype("float32")
    # Keras' answer for the file as saved (reloaded: an in-memory Normalization keeps the statistics it had at
    # build time until it is finalized, which loading does).
    y = np.asarray(keras.saving.load_model(path)(x, training=False))
    with open(os.path.join(out_dir, f"{name}.expected.json"), "w") as f:
        json.dump({"keras": keras.__version__, "backend": keras.backend.backend(),
                   "input_shape": [2] + list(input_shape), "x": x.ravel().tolist(),
                   "y_shape": list(y.shape), "y": y.ravel().tolist()}, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def broken_corpus(out_dir, good_path):
    """Damaged and unreadable .keras files, each with the error loadKerasModel must give (tests read them)."""
    import zipfile
    bdir = os.path.join(out_dir, "broken")
    os.makedirs(bdir, exist_ok=True)
    good = open(good_path, "rb").read()
    with zipfile.ZipFile(good_path) as z:
        parts = {n: z.read(n) for n in z.namelist()}

    def zipped(name, files):
        with zipfile.ZipFile(os.path.join(bdir, name), "w") as z:
            for n, b in files.items():
                z.writestr(n, b)

    open(os.path.join(bdir, "not_a_zip.keras"), "wb").write(b"\x89HDF\r\n\x1a\n" + bytes(range(200)))
    open(os.path.join(bdir, "empty.keras"), "wb").write(b"")
    open(os.path.join(bdir, "truncated.keras"), "wb").write(good[: len(good) // 2])
    zipped("no_weights.keras", {"config.json": parts["config.json"], "metadata.json": parts["metadata.json"]})
    zipped("bad_json.keras", {**parts, "config.json": parts["config.json"][:100]})
    zipped("bad_h5.keras", {**parts, "model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(4000)})
    zipped("not_h5.keras", {**parts, "model.weights.h5": b"PK this is not HDF5"})
    zipped("truncated_h5.keras", {**parts, "model.weights.h5": parts["model.weights.h5"][:5000]})
    # Real Keras models whose layers TF.js cannot hold: one error naming each.
    inp = keras.Input((4,), name="x")
    h = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inp)
    h = keras.layers.Dense(3, name="dense_a")(h)
    h = keras.layers.LSTM(2, name="lstm_never")(keras.layers.Reshape((3, 1), name="to_seq")(h))
    keras.Model(inp, h).save(os.path.join(bdir, "unsupported_layers.keras"))
    keras.mixed_precision.set_global_policy("mixed_float16")
    inp = keras.Input((4,), name="x")
    keras.Model(inp, keras.layers.Dense(2, name="half")(inp)).save(os.path.join(bdir, "mixed_precision.keras"))
    keras.mixed_precision.set_global_policy("float32")
    print(f"wrote {len(os.listdir(bdir))} broken files to {bdir}")


def twin_model(out_dir):
    """A small residual model with the Python twin's DropPath (python/tfjs_drop_path), trained one epoch."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    from tfjs_drop_path import DropPath

    keras.utils.set_random_seed(5)
    inp = keras.Input((6, 6, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", name="stem")(inp)
    for i, rate in enumerate([0.1, 0.3]):
        h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name=f"b{i}_conv")(x)
        h = keras.layers.BatchNormalization(name=f"b{i}_bn")(h)
        h = DropPath(rate=rate, mode="row" if i == 0 else "batch", seed=11 + i, name=f"b{i}_drop_path")(h)
        x = keras.layers.Add(name=f"b{i}_add")([x, h])
    out = keras.layers.Dense(3, name="head")(keras.layers.GlobalAveragePooling2D(name="pool")(x))
    model = keras.Model(inp, out, name="twin_resnet")
    model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(5)
    model.fit(rng.normal(size=(16, 6, 6, 3)).astype("float32"), np.eye(3)[rng.integers(0, 3, 16)].astype("float32"),
              epochs=1, verbose=0)
    model.get_layer("b1_drop_path").rate.assign(0.25)  # a scheduled rate, as the twin's callback would leave it
    path = os.path.join(out_dir, "twin_drop_path.keras")
    model.save(path)
    x = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    y = np.asarray(keras.saving.load_model(path)(x, training=False))
    with open(os.path.join(out_dir, "twin_drop_path.expected.json"), "w") as f:
        json.dump({"keras": keras.__version__, "input_shape": [2, 6, 6, 3], "x": x.ravel().tolist(),
                   "y_shape": list(y.shape), "y": y.ravel().tolist()}, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


# Stand-ins written here for two layers whose packages are not installable here (TF Model Garden needs tf_keras,
# keras-cv is not among the local wheels): the same registered names, config fields and inference arithmetic as
# Model Garden's `Vision>StochasticDepth` (official/vision/modeling/layers/nn_layers.py) and keras-cv's two-input
# `keras_cv>StochasticDepth`, so that the files carry exactly what those packages write.
class GardenStochasticDepth(keras.layers.Layer):
    def __init__(self, stochastic_depth_drop_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_rate = stochastic_depth_drop_rate

    def call(self, x, training=None):
        if not training or not self.drop_rate:
            return x
        keep = 1.0 - self.drop_rate
        u = keras.random.uniform((keras.ops.shape(x)[0],) + (1,) * (len(x.shape) - 1), dtype=x.dtype)
        return x / keep * keras.ops.floor(keep + u)

    def get_config(self):
        return {**super().get_config(), "stochastic_depth_drop_rate": self.drop_rate}


class CvStochasticDepth(keras.layers.Layer):
    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, x, training=None):
        shortcut, residual = x
        if training:
            keep = keras.ops.cast(keras.random.uniform(()) < 1.0 - self.rate, residual.dtype)
            return shortcut + keep * residual
        return shortcut + (1.0 - self.rate) * residual

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


# Saved under the class name and module their packages give them.
for _cls, _package, _module in [(GardenStochasticDepth, "Vision", "official.vision.modeling.layers.nn_layers"),
                                (CvStochasticDepth, "keras_cv", "keras_cv.layers.regularization.stochastic_depth")]:
    _cls.__name__ = _cls.__qualname__ = "StochasticDepth"
    _cls.__module__ = _module
    keras.saving.register_keras_serializable(package=_package, name="StochasticDepth")(_cls)


def family_model(out_dir):
    """Model Garden's and keras-cv's stochastic depth in one model (rates 0.2, None and 0.3)."""
    keras.utils.set_random_seed(6)
    inp = keras.Input((6, 6, 4), name="image")
    x = inp
    for i, rate in enumerate([0.2, None]):
        h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name=f"garden{i}_conv")(x)
        h = GardenStochasticDepth(rate, name=f"garden{i}_sd")(h)
        x = keras.layers.Add(name=f"garden{i}_add")([x, h])
    h = keras.layers.Conv2D(4, 1, name="cv_conv")(x)
    x = CvStochasticDepth(rate=0.3, name="cv_sd")([x, h])
    out = keras.layers.Dense(3, name="head")(keras.layers.GlobalAveragePooling2D(name="pool")(x))
    model = keras.Model(inp, out, name="stochastic_depth_family")
    perturb(model, 6)
    write(model, out_dir, "stochastic_depth_family", (6, 6, 4), 6)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    if only == "stochastic_depth_family":
        family_model(out_dir)
        return
    if only == "large":
        large(out_dir)
        return
    keras.utils.set_random_seed(1)
    small = convnext_model([1, 1, 2, 1], [8, 16, 24, 32], 0.3, 32, 5, "convnext_small_test")
    perturb(small, 1)
    write(small, out_dir, "convnext_reduced", (32, 32, 3), 1)
    broken_corpus(out_dir, os.path.join(out_dir, "convnext_reduced.keras"))
    twin_model(out_dir)
    family_model(out_dir)
    # EfficientNet (B0's blocks, narrowed and shortened) and EfficientNetV2-B0's, with their stochastic depth
    # (Dropout with noise_shape (None, 1, 1, 1)), swish, squeeze-excite and preprocessing layers.
    keras.utils.set_random_seed(3)
    eff = efficientnet.EfficientNet(0.25, 0.25, 32, 0.2, drop_connect_rate=0.2, name="efficientnet_reduced",
                                    weights=None, input_shape=(32, 32, 3), classes=4, classifier_activation=None)
    perturb(eff, 3)
    write(eff, out_dir, "efficientnet_reduced", (32, 32, 3), 3)
    keras.utils.set_random_seed(4)
    eff2 = efficientnet_v2.EfficientNetV2(0.25, 0.25, 32, name="efficientnetv2_reduced", blocks_args=efficientnet_v2.DEFAULT_BLOCKS_ARGS["efficientnetv2-b0"],
                                          weights=None, input_shape=(32, 32, 3), classes=4, classifier_activation=None)
    perturb(eff2, 4)
    write(eff2, out_dir, "efficientnetv2_reduced", (32, 32, 3), 4)
    if "--large" in sys.argv:
        large(out_dir)


def large(out_dir):
    """Full-size configurations (not committed): ConvNeXt-Tiny's, EfficientNetB0 and EfficientNetV2B0."""
    keras.utils.set_random_seed(2)
    tiny = convnext_model([3, 3, 9, 3], [96, 192, 384, 768], 0.1, 224, 1000, "convnext_tiny")
    perturb(tiny, 2)
    write(tiny, out_dir, "convnext_tiny", (224, 224, 3), 2)
    keras.utils.set_random_seed(7)
    b0 = efficientnet.EfficientNetB0(weights=None, input_shape=(224, 224, 3), classifier_activation=None)
    # Full depth compounds the perturbation: at 0.5 the logits reach 2e4 and Keras' own backends disagree by 4e-4
    # of that (TensorFlow against JAX); 0.1 keeps the network well conditioned while still moving every weight.
    perturb(b0, 7, 0.1)
    write(b0, out_dir, "efficientnet_b0", (224, 224, 3), 7)
    keras.utils.set_random_seed(8)
    v2b0 = efficientnet_v2.EfficientNetV2B0(weights=None, input_shape=(224, 224, 3), classifier_activation=None)
    perturb(v2b0, 8, 0.1)
    write(v2b0, out_dir, "efficientnetv2_b0", (224, 224, 3), 8)


if __name__ == "__main__":
    main()
