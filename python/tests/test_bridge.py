"""The Keras bridge end to end: models built in TF.js (scripts/tfjs_keras_models.js, needs `npm run build`) are opened
by keras.saving.load_model with the same predictions, trained under tf.distribute.MirroredStrategy (TensorFlow) or
keras.distribution.DataParallel (JAX) on two logical CPU devices, and read back by TF.js with the same predictions."""
import json
import math
import os
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

import tfjs_drop_path
from tfjs_drop_path import DropPath, DropPathScheduler, StochasticResidual, linear_warmup

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["resnet_drop_path", "resnet_residual", "zoo", "sequential", "nested"]
BACKEND = keras.backend.backend()


def node(*args):
    if not (ROOT / "dist" / "index.js").exists():
        pytest.fail("the TF.js side needs the built package: run `npm run build` in the repository first")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(["node", str(ROOT / "scripts" / "tfjs_keras_models.js"), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"node {' '.join(map(str, args))} failed:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def tfjs_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tfjs")
    node("make", out)
    return out


def case(directory, name):
    data = json.loads((directory / f"{name}.json").read_text())
    x = np.array(data["x"], "float32").reshape(data["xShape"])
    y = np.array(data["y"], "float32").reshape(data["yShape"])
    return x, y


def tfjs_predict(tmp_path, model_file, x, fit=False):
    inp, out = tmp_path / "in.json", tmp_path / "out.json"
    inp.write_text(json.dumps({"x": x.ravel().tolist(), "xShape": list(x.shape)}))
    node("predict", model_file, inp, out, *(["--fit"] if fit else []))
    result = json.loads(out.read_text())
    return np.array(result["y"], "float32").reshape(result["yShape"]), result.get("loss")


def close(a, b, scale=None):
    scale = max(1.0, float(np.abs(b).max())) if scale is None else scale
    diff = float(np.abs(a - b).max())
    assert diff <= 1e-5 * scale, f"max abs diff {diff} (output scale {scale})"
    return diff


@pytest.mark.parametrize("name", MODELS)
def test_tfjs_models_open_in_keras_with_the_same_predictions(tfjs_dir, name):
    model = keras.saving.load_model(tfjs_dir / f"{name}.keras")
    x, y = case(tfjs_dir, name)
    close(keras.ops.convert_to_numpy(model(x, training=False)), y)
    if name == "resnet_residual":
        assert sum(isinstance(layer, StochasticResidual) for layer in model.layers) == 4
    if name == "resnet_drop_path":
        assert sum(isinstance(layer, DropPath) for layer in model.layers) == 4
    if name == "zoo":  # KerasDropout is written as Keras' own Dropout, its noise shape and seed kept
        layer = model.get_layer("spatial_dropout")
        assert type(layer) is keras.layers.Dropout and list(layer.noise_shape) == [None, 1, 1, None] and layer.seed == 4
    if name == "nested":  # addDropPath's drops, in the outer model and in the Functional nested in it
        inner = model.get_layer("inner")
        assert [layer.rate for layer in (*model.layers, *inner.layers) if isinstance(layer, DropPath)] == \
            pytest.approx([0.0, 0.15, 0.3])


def test_a_model_keras_saves_again_reads_back_in_tfjs(tfjs_dir, tmp_path):
    model = keras.saving.load_model(tfjs_dir / "resnet_residual.keras")
    for i, v in enumerate(model.weights):  # moved in Keras, so TF.js must read Keras' own file, not echo its own
        if v.trainable:
            v.assign(v.numpy() + np.float32(0.01 * (i % 7)))
    path = tmp_path / "resaved.keras"
    model.save(path)
    x, _ = case(tfjs_dir, "resnet_residual")
    y_tfjs, loss = tfjs_predict(tmp_path, path, x, fit=True)
    close(y_tfjs, keras.ops.convert_to_numpy(model(x, training=False)))
    assert math.isfinite(loss)


def two_devices():
    if BACKEND == "tensorflow":
        import tensorflow as tf
        return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    if BACKEND == "jax":
        devices = keras.distribution.list_devices("cpu")
        assert len(devices) == 2, f"expected 2 logical CPU devices (conftest's XLA_FLAGS), found {devices}"
        return keras.distribution.DataParallel(devices=devices)
    pytest.skip(f"no distribution route for the {BACKEND} backend")


@pytest.mark.parametrize("name", ["resnet_drop_path", "resnet_residual"])
def test_training_at_scale_and_back(tfjs_dir, tmp_path, name):
    """TF.js model -> .keras -> fit on two replicas with a scheduled rate -> .keras -> TF.js, same predictions."""
    engine = two_devices()
    x, y = case(tfjs_dir, name)
    xs = np.concatenate([x] * 4)
    ys = np.random.RandomState(0).randn(len(xs), y.shape[1]).astype("float32")
    if BACKEND == "tensorflow":
        with engine.scope():
            model = keras.saving.load_model(tfjs_dir / f"{name}.keras")
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    else:
        keras.distribution.set_distribution(engine)
        model = keras.saving.load_model(tfjs_dir / f"{name}.keras")
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    try:
        before = [w.numpy().copy() for w in model.trainable_weights]
        built = [layer.rate for layer in tfjs_drop_path.drop_layers(model)]
        scheduler = DropPathScheduler(linear_warmup(0.4, 2), update_every="batch")
        history = model.fit(xs, ys, batch_size=8, epochs=2, verbose=0, callbacks=[scheduler])
        assert all(math.isfinite(v) for v in history.history["loss"])
        assert history.history["drop_path_rate"][-1] > 0
        assert any(np.abs(a - w.numpy()).max() > 0 for a, w in zip(before, model.trainable_weights))
        assert [layer.rate for layer in tfjs_drop_path.drop_layers(model)] == built
        path = tmp_path / "trained.keras"
        model.save(path)
        # Not model.predict under the strategy: Keras' (unsynchronized) BatchNormalization updates each replica's moving
        # statistics from its own shard, so replicas end up holding different statistics and the second replica's
        # rows disagree with what is saved (the first replica's). The model itself, called outside the replicas, is the
        # saved one.
        expected = keras.ops.convert_to_numpy(model(x, training=False))
    finally:
        if BACKEND == "jax":
            keras.distribution.set_distribution(None)
    close(keras.ops.convert_to_numpy(keras.saving.load_model(path)(x, training=False)), expected)
    y_tfjs, _ = tfjs_predict(tmp_path, path, x)
    close(y_tfjs, expected)


def bound(n, p, sds=4.5):
    return sds * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_replicas_draw_their_own_row_masks_and_share_a_batch_draw(mode):
    """keras-team/keras#18426: a mirrored seed state makes every replica drop the same positions of its shard."""
    engine = two_devices()
    steps, per_replica = 40, 16
    if BACKEND == "tensorflow":
        import tensorflow as tf
        with engine.scope():
            layer = DropPath(rate=0.5, mode=mode, seed=1)
            layer.build((per_replica, 1))

        @tf.function
        def step(v):
            return engine.run(lambda t: layer(t, training=True), args=(v,))

        pairs = []
        for _ in range(steps):
            a, b = (o.numpy().ravel() > 0 for o in engine.experimental_local_results(step(tf.ones((per_replica, 1)))))
            pairs.append((a, b))
    else:
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        layer = DropPath(rate=0.5, mode=mode, seed=1)
        mesh = Mesh(np.array(jax.devices("cpu")[:2]), ("batch",))
        sharded = jax.device_put(np.ones((2 * per_replica, 1), "float32"), NamedSharding(mesh, PartitionSpec("batch")))
        pairs = []
        for _ in range(steps):
            out = np.asarray(layer(sharded, training=True)).ravel() > 0
            pairs.append((out[:per_replica], out[per_replica:]))
    agree = sum(int((a == b).sum()) for a, b in pairs)
    n = steps * per_replica
    if mode == "row":
        assert abs(agree - n / 2) < bound(n, 0.5), f"replicas agree on {agree} of {n} row decisions (independent: about {n // 2})"
    else:
        assert agree == n  # one decision per call for the whole (global) batch


def test_scheduled_rate_reaches_compiled_steps_and_the_built_rate_comes_back():
    inputs = keras.Input((4,))
    dropped = DropPath(rate=0.5, scale_by_keep=False, seed=3)(inputs)
    dense = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    model = keras.Model(inputs, dense(dropped))
    dense.trainable = False
    model.compile(optimizer="sgd", loss="mse")  # compiled steps (jit on JAX, tf.function on TensorFlow)
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 1), "float32")
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0,
                        callbacks=[DropPathScheduler(tfjs_drop_path.late(1.0, 1))])
    # epoch 0: rate 0, every row kept, output 4, loss 16; epochs 1-2: rate 1, every row dropped, loss exactly 0
    assert history.history["loss"] == [16.0, 0.0, 0.0]
    assert history.history["drop_path_rate"] == [0.0, 1.0, 1.0]
    assert model.layers[1].rate == 0.5


def branch_model(channels, name):
    inputs = keras.Input((channels,))
    return keras.Model(inputs, keras.layers.Dense(channels, name=f"{name}_dense")(inputs), name=name)


def test_stochastic_residual_twin_drops_rows_keeps_the_shortcut_and_gives_exact_zeros():
    block = StochasticResidual(branch_model(3, "b"), rate=0.3, seed=4)
    x = np.random.RandomState(1).randn(3000, 3).astype("float32")
    branch = keras.ops.convert_to_numpy(block.branch(x))
    out = keras.ops.convert_to_numpy(block(x, training=True))
    dropped = np.all(out == x, axis=1)
    assert abs(int(dropped.sum()) - 900) < bound(3000, 0.3)
    np.testing.assert_allclose(out[~dropped], x[~dropped] + branch[~dropped] / 0.7, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x, training=False)), x + branch, rtol=1e-6, atol=1e-6)
    nan_branch = StochasticResidual(keras.layers.Lambda(lambda t: t * np.nan), rate=1.0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(nan_branch(x, training=True)), x)


def test_stochastic_residual_config_round_trips_and_bad_arguments_are_refused():
    block = StochasticResidual(branch_model(2, "br"), shortcut=branch_model(2, "sc"), rate=0.2, mode="batch",
                               scale_by_keep=False, seed=2**40 + 1, strategy="mask", name="sr")
    block.build((None, 2))
    config = block.get_config()
    assert {k: config[k] for k in ("rate", "mode", "scale_by_keep", "seed", "strategy")} == \
        {"rate": 0.2, "mode": "batch", "scale_by_keep": False, "seed": 2**40 + 1, "strategy": "mask"}
    again = StochasticResidual.from_config(config)
    assert again.branch.name == "br" and again.shortcut.name == "sc"
    with pytest.raises(ValueError, match="strategy must be one of 'skip', 'mask', but received 'drop'"):
        StochasticResidual(branch_model(2, "x"), strategy="drop")
    with pytest.raises(ValueError, match="branch must be a Keras layer, but received int"):
        StochasticResidual(3)
    with pytest.raises(ValueError, match="rate must be a number in"):
        StochasticResidual(branch_model(2, "y"), rate=1.5)


def test_the_twin_has_the_version_of_the_npm_package():
    assert tfjs_drop_path.__version__ == json.loads((ROOT / "package.json").read_text())["version"]
