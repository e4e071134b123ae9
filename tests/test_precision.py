"""--precision: Keras mixed precision for SDCH, float32 where the losses and codes need it."""
import dataclasses

import keras
import numpy as np
import pytest

from sdch_tf.run import experiment, results
from sdch_tf.sdch import trainer
from sdch_tf.training import checkpoint, precision
from sdch_tf.sdch.config import preset
from sdch_tf.input_errors import InputError
from sdch_tf.train import build_config, parse_args


@pytest.fixture(scope="module")
def smoke():
    config = preset("smoke")
    data = experiment.load_data(config.data)
    return config, data, experiment.split_for(config.data, data, 0)


def _build(smoke, name):
    config, data, split = smoke
    config = dataclasses.replace(config, precision=name)
    return config, trainer.build(config, data, split, 16, 0)


@pytest.mark.parametrize("name, compute", [("fp32", "float32"), ("bf16", "bfloat16"), ("fp16", "float16")])
def test_layers_compute_in_the_policy_and_keep_float32_variables(smoke, name, compute):
    _, model = _build(smoke, name)
    layers = {layer.name: layer.compute_dtype for layer in model.image_net.layers + model.text_net.layers
              if layer.weights}
    # The feature layers img_fc3 / txt_fc3 are float32 by design (their outputs enter Eq. 4).
    assert layers.pop("img_fc3") == layers.pop("txt_fc3") == "float32"
    assert len(layers) == 9 and set(layers.values()) == {compute}
    assert all(v.dtype == "float32" for v in model.weights)
    # fc4 stays float32: Z feeds the losses (sums of b² terms) and the codes.
    assert model.hash_layer.compute_dtype == "float32"
    images = np.zeros((2, 67, 67, 3), np.float32)
    out = model({"image": images, "text": np.zeros((2, smoke[1].text_dim), np.float32)})
    assert out["z_image"].dtype == "float32"


def test_the_global_policy_is_restored_after_building(smoke):
    _build(smoke, "bf16")
    assert keras.mixed_precision.global_policy().name == "float32"


def test_fp16_scales_the_loss_and_the_others_do_not(smoke):
    _, fp16 = _build(smoke, "fp16")
    assert isinstance(fp16.feature_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(fp16.hash_optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(fp16.feature_optimizer.scale_loss(2.0)) == 2.0  # initial scale 1 (see wrap_optimizer)
    _, bf16 = _build(smoke, "bf16")
    assert not isinstance(bf16.feature_optimizer, keras.optimizers.LossScaleOptimizer)


@pytest.mark.parametrize("name", ["bf16", "fp16"])
def test_a_mixed_precision_run_trains_every_phase_with_finite_losses(smoke, tmp_path, name):
    config, model = _build(smoke, name)
    _, data, split = smoke
    epochs = trainer.fit(model, config, data, split, str(tmp_path), 0, verbose=0)
    assert [e["phase"] for e in epochs] == ["features", "hash", "joint"]
    assert all(np.isfinite(v) for e in epochs for k, v in e.items() if k not in ("phase", "epoch"))
    # Θ_f learned something: L_f fell from the first epoch to the last.
    assert epochs[-1]["L_f"] < epochs[0]["L_f"]
    codes = model.encode_text(data.texts[split.query])
    assert codes.dtype == np.int8 and set(np.unique(codes)) <= {-1, 1}


def test_fp16_checkpoints_hold_the_loss_scale_and_restore(smoke, tmp_path):
    config, model = _build(smoke, "fp16")
    model.feature_optimizer.dynamic_scale.assign(8.0)
    path = tmp_path / "checkpoint.npz"
    checkpoint.save(path, model, epoch=2)
    _, restored = _build(smoke, "fp16")
    assert checkpoint.restore(path, restored) == 2
    assert float(restored.feature_optimizer.dynamic_scale) == 8.0


def test_fp32_keeps_the_run_ids_of_runs_recorded_before_the_option(smoke):
    # fc4_init as the runs recorded before the field existed drew it (the presets now draw "normal").
    config = dataclasses.replace(smoke[0], fc4_init="truncated")
    assert dataclasses.replace(config, precision="fp32") == config
    fp32 = results.run_id(config, 16, 0)
    assert results.run_id(dataclasses.replace(config, precision="bf16"), 16, 0) != fp32
    # The id of a config without the fields (as recorded before they existed) is the fp32 one;
    # so is it with fc4_init and itq_centering, fields added at a neutral value.
    recorded = results.config_dict(config)
    recorded.pop("precision")
    assert recorded.pop("fc4_init") == "truncated"
    assert recorded.pop("itq_centering") == "joint"
    assert recorded.pop("eval_every") is None
    assert results.config_digest(config) == _digest(recorded)


def _digest(d):
    import hashlib
    import json

    d = dict(d)
    d.pop("bits", None)
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]


def test_cli_sets_the_precision_and_refuses_it_where_it_does_not_apply():
    assert build_config(parse_args(["--preset", "smoke", "--precision", "bf16"])).precision == "bf16"
    assert build_config(parse_args(["--preset", "smoke"])).precision == "fp32"
    with pytest.raises(InputError, match="--precision does not apply to --method dcmh"):
        build_config(parse_args(["--method", "dcmh", "--preset", "smoke", "--precision", "bf16"]))


def test_unknown_precision_lists_the_choices():
    with pytest.raises(ValueError, match="fp32, bf16, fp16"):
        precision.check("fp8")
