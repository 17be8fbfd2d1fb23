"""The Keras twin of DropPath: statistics (binomial bounds, fixed seeds), inference identity, exact zeros."""
import math

import numpy as np
import pytest
import keras

from tfjs_drop_path import DropPath


def bound(n, p, sds=4.5):
    return sds * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_row_mode_drops_each_sample_with_probability_rate(rate):
    layer = DropPath(rate=rate, seed=1)
    x = np.ones((4000, 3), "float32")
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    dropped = int((y[:, 0] == 0).sum())
    assert abs(dropped - rate * 4000) < bound(4000, rate)
    kept = y[y[:, 0] != 0]
    np.testing.assert_allclose(kept, 1 / (1 - rate), rtol=1e-5)  # kept samples scaled by 1/keep
    assert ((y == 0).all(axis=1) | (y != 0).all(axis=1)).all()  # whole rows


def test_batch_mode_draws_once_per_call():
    layer = DropPath(rate=0.3, mode="batch", seed=2)
    x = np.ones((8, 2), "float32")
    outs = [keras.ops.convert_to_numpy(layer(x, training=True)) for _ in range(600)]
    assert all(len(set(o.ravel().tolist())) == 1 for o in outs)
    dropped = sum(1 for o in outs if o[0, 0] == 0)
    assert abs(dropped - 180) < bound(600, 0.3)


def test_inference_is_identity_and_rate_one_gives_exact_zeros_even_for_nan():
    x = np.array([[np.nan, np.inf, 1.0], [2.0, -np.inf, 3.0]], "float32")
    out = keras.ops.convert_to_numpy(DropPath(rate=0.7)(x, training=False))
    np.testing.assert_array_equal(out, x)
    zeros = keras.ops.convert_to_numpy(DropPath(rate=1.0)(x, training=True))
    assert (zeros == 0).all() and not np.isnan(zeros).any()
    dropped_nan_rows = keras.ops.convert_to_numpy(DropPath(rate=0.5, seed=3)(np.full((200, 2), np.nan, "float32"), training=True))
    assert ((dropped_nan_rows == 0).all(axis=1) | np.isnan(dropped_nan_rows).all(axis=1)).all()
    assert (dropped_nan_rows == 0).all(axis=1).sum() > 50  # dropped NaN rows are exact zeros


def test_scale_by_keep_false_and_same_seed_same_drops():
    x = np.ones((64, 1), "float32")
    out = keras.ops.convert_to_numpy(DropPath(rate=0.5, scale_by_keep=False, seed=4)(x, training=True))
    assert set(out.ravel().tolist()) <= {0.0, 1.0}
    a = keras.ops.convert_to_numpy(DropPath(rate=0.5, seed=5)(x, training=True))
    b = keras.ops.convert_to_numpy(DropPath(rate=0.5, seed=5)(x, training=True))
    np.testing.assert_array_equal(a, b)


def test_config_round_trips_and_bad_arguments_are_refused():
    layer = DropPath(rate=0.25, mode="batch", scale_by_keep=False, seed=2**40 + 7, name="dp")
    config = layer.get_config()
    assert {k: config[k] for k in ("rate", "mode", "scale_by_keep", "seed")} == \
        {"rate": 0.25, "mode": "batch", "scale_by_keep": False, "seed": 2**40 + 7}
    clone = DropPath.from_config(config)
    assert clone.get_config()["rate"] == 0.25
    with pytest.raises(ValueError, match="rate must be a number in \\[0, 1\\], but received 1.5"):
        DropPath(rate=1.5)
    with pytest.raises(ValueError, match="mode must be one of 'row', 'batch', but received 'sample'"):
        DropPath(rate=0.1, mode="sample")


def test_rate_is_a_variable_a_schedule_changes_inside_fit_and_the_model_saves(tmp_path):
    inp = keras.Input((4,))
    h = keras.layers.Dense(4, name="branch")(inp)
    out = keras.layers.Add()([inp, DropPath(rate=0.2, seed=6, name="dp")(h)])
    model = keras.Model(inp, out)
    model.compile(optimizer="sgd", loss="mse")
    layer = model.get_layer("dp")

    class Halve(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            layer.rate = 0.2 / (epoch + 1)  # a property over the rate variable

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    model.fit(x, x, epochs=2, verbose=0, callbacks=[Halve()])
    assert abs(layer.rate - 0.1) < 1e-7
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6)
    assert loaded.get_layer("dp").get_config()["rate"] == pytest.approx(0.1)


def test_rate_is_a_property_over_the_variable():
    layer = DropPath(rate=0.2, name="dp")
    variable = layer.rate_variable
    layer.rate = 0.3
    assert layer.rate_variable is variable  # assigning the rate keeps the variable compiled steps read
    assert layer.rate == pytest.approx(0.3)
    assert float(keras.ops.convert_to_numpy(variable)) == pytest.approx(0.3)
    assert layer.get_config()["rate"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match=r"DropPath 'dp': rate must be a number in \[0, 1\], but received 1.5"):
        layer.rate = 1.5
    assert layer.rate == pytest.approx(0.3)


def test_stochastic_residual_checks_that_branch_and_shortcut_shapes_agree():
    from tfjs_drop_path import StochasticResidual

    block = StochasticResidual(branch=keras.layers.Dense(3), rate=0.1, name="block")
    with pytest.raises(ValueError, match=r"StochasticResidual 'block': the branch gives shape \(None, 3\) but the identity "
                                         r"shortcut gives \(None, 4\)"):
        block.build((None, 4))
    ok = StochasticResidual(branch=keras.layers.Dense(3), shortcut=keras.layers.Dense(3), rate=0.1)
    ok.build((None, 4))
    assert ok.built


def test_stochastic_residual_from_config_deserializes_children_with_custom_objects():
    from tfjs_drop_path import StochasticResidual

    class Doubler(keras.layers.Layer):  # a user's own layer, known only through custom_objects
        def call(self, x):
            return 2 * x

    config = StochasticResidual(branch=Doubler(name="double"), rate=0.25, name="block").get_config()
    block = StochasticResidual.from_config(config, custom_objects={"Doubler": Doubler})
    assert isinstance(block.branch, Doubler) and block.rate == pytest.approx(0.25)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x)), 3 * x)
