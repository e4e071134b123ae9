"""The presets: ``paper`` is the paper; ``cpu`` and ``smoke`` are the paper scaled down, loading the
ImageNet stand-in weights, with only the departures each method's NOTES.md measures (README,
"Paper and cpu presets"; docs/reproduction.md §2.3). Each paper value is cited in the method's config."""
import dataclasses
import os

import pytest

from sdch_tf import configs, pretrain, registry

# field → the paper's value, per method: what a departure of the cpu preset changes.
PAPER_VALUES = {
    "sdch": {"data_init": False, "fc4_init": "normal", "code_refresh": "forward", "itq_centering": "joint"},
    "dcmh": {"output_std": 0.0, "eta": 1.0, "optimizer": "sgd", "average_image": True},
    "cmhn": {"output_std": None, "input_scale": 1.0, "lr_new": 1e-2},
    "dspah": {"output_init_std": None, "rate_scaled_from_bits": None, "optimizer": "sgd"},
    "rdcmh": {"margin": 0.0, "optimizer": "sgd", "data_init": False},
    "scm": {"variant": "seq", "ridge": 1e-6, "x_modality": "text"},
    "imh": {"neighbours": 10, "inter_weight": 1e4, "skip_smallest": True, "beta": None, "lam": None},
    "seph": {"alpha": 0.01, "centres": 500, "centre_sampling": "kmeans", "klr_penalty": 0.01, "kl_iterations": 1000},
    "corrae": {"alpha": None, "held_out": 0.2, "epochs": 40, "steps_per_epoch": 500, "batch_size": 231,
               "learning_rate": 0.05, "weight_decay": 0.0001},
    "cmnn": {"margin": None, "held_out": 0.2, "hidden_units": 1024, "image_intra_weight": 0.0,
             "text_intra_weight": 0.0, "batch_size": 100, "epochs": 100},
    "dbrc": {"scale_penalty": 1e-3, "initial_scale": 1.0, "optimizer": "rmsprop", "learning_rate": 1e-3,
             "batch_size": 128, "epochs": 100},
    "prdh": {"output_std": 0.0, "lam": None, "gamma": 1.0, "intra_one_sided": False, "lr_start": 10 ** -1.5,
             "weight_decay": 5e-4},
    "dvsh": {"cosine_margin": 0.5, "bit_margin": 0.5, "lam": 1.0, "beta": 1.0, "optimizer": "momentum",
             "lr_new": 1e-3, "lr_pretrained": 1e-4, "max_words_percentile": 95.0, "head_init_std": 0.0},
}

# The departures of the cpu and smoke presets, each measured in the method's NOTES.md.
DEPARTURES = {
    "sdch": {"data_init": True},
    "dcmh": {"output_std": 0.3},
    "cmhn": {},
    "dspah": {"output_init_std": 1.0, "rate_scaled_from_bits": 8},
    "rdcmh": {"margin": 0.5, "optimizer": "adam", "lr_image": 3e-4, "lr_text": 3e-4, "data_init": True,
              "triplet_scope": "batch"},
    "scm": {},
    "seph": {},
    "imh": {},
    "corrae": {},
    "cmnn": {},
    "dbrc": {},
    "prdh": {"output_std": 0.3, "lam": 0.0},
    "dvsh": {"optimizer": "adam", "head_init_std": 0.3},
}
# Dropout, a departure of the networks (measured in the method's NOTES.md).
NET_DEPARTURES = {
    "rdcmh": {"image_net": {"dropout": 0.0}, "text_net": {"dropout": 0.0}},
}
# Fields that only scale a run down: length, data, widths and input size, the weights file.
SCALE_FIELDS = {"preset", "epochs", "batch_size", "bits", "data", "weights", "itq_iterations", "text_hidden",
                "image_hash_units", "text_units", "lr_image", "lr_text", "image_net", "text_net",
                # SePH's smoke preset: its iteration counts and centres sized to 96 training items.
                "centres", "kl_iterations", "kl_exaggeration_stop", "kl_momentum_switch", "kmeans_iterations",
                "klr_iterations",
                # CorrAE: its step counts and schedules (config.scaled), the RBMs' widths and steps.
                "steps_per_epoch", "rate_half_life", "momentum_change_steps", "image_rbms", "text_rbms",
                # DVSH: its word embedding and LSTM widths.
                "embedding", "lstm_units"}
NET_SCALE_FIELDS = {"input_size", "resize", "conv_filters", "fc_units", "widths", "blocks", "feature_dim",
                    "pool_sizes", "hidden_units"}
BACKBONE_OF = {"sdch": "alexnet", "dcmh": "vggf", "cmhn": "vggf", "rdcmh": "vggf", "dspah": "resnet34",
               "scm": "alexnet", "seph": "alexnet", "imh": "alexnet", "corrae": "alexnet",
               "cmnn": "alexnet", "dbrc": "alexnet", "prdh": "vggf", "dvsh": "alexnet"}


@pytest.mark.parametrize("method", sorted(PAPER_VALUES))
def test_paper_presets_hold_the_papers_values(method):
    config = registry.get_method(method).preset("paper")
    for field, value in PAPER_VALUES[method].items():
        assert getattr(config, field) == value, (method, field)
    assert config.weights is None  # the user's ImageNet file, --weights


def test_paper_networks_are_the_papers():
    assert registry.get_method("cmhn").preset("paper").image_net.dropout == 0.0  # deploy VGG-F, CMHN §3
    assert registry.get_method("dspah").preset("paper").text_net.blocks == (3, 4, 6, 3)  # DSPAH §IV.B ResNet-34
    assert registry.get_method("dspah").preset("paper").image_net.blocks == (3, 4, 6, 3)
    assert registry.get_method("rdcmh").preset("paper").lr_image == pytest.approx(10 ** -1.5 / 1.28e6)


@pytest.mark.parametrize("preset", ["cpu", "smoke"])
@pytest.mark.parametrize("method", sorted(PAPER_VALUES))
def test_cpu_and_smoke_are_the_paper_scaled_down_with_the_measured_departures_only(method, preset):
    paper, config = (registry.get_method(method).preset(name) for name in ("paper", preset))
    changed = {f.name for f in dataclasses.fields(config) if getattr(config, f.name) != getattr(paper, f.name)}
    departures = DEPARTURES[method]
    assert changed <= SCALE_FIELDS | set(departures), (method, preset, changed - SCALE_FIELDS - set(departures))
    for field, value in departures.items():
        assert getattr(config, field) == value, (method, preset, field)
    for net in ("image_net", "text_net"):
        if hasattr(config, net):
            a, b = getattr(paper, net), getattr(config, net)
            net_changed = {f.name for f in dataclasses.fields(b) if getattr(a, f.name) != getattr(b, f.name)}
            allowed = NET_DEPARTURES.get(method, {}).get(net, {})
            assert net_changed <= NET_SCALE_FIELDS | set(allowed), (method, preset, net, net_changed - NET_SCALE_FIELDS)
            for field, value in allowed.items():
                assert getattr(b, field) == value, (method, preset, net, field)


@pytest.mark.parametrize("preset", ["cpu", "smoke"])
def test_corrae_scaled_rbms_change_only_widths_and_step_counts(preset):
    paper, config = (registry.get_method("corrae").preset(name) for name in ("paper", preset))
    step_fields = {"hidden_units", "steps", "rate_half_life", "momentum_change_steps", "cd_step_up_after",
                   "cd_step_up_every"}
    for a, b in zip(paper.image_rbms + paper.text_rbms, config.image_rbms + config.text_rbms):
        changed = {f.name for f in dataclasses.fields(b) if getattr(a, f.name) != getattr(b, f.name)}
        assert changed <= step_fields, changed - step_fields
    # Every step count scaled alike: the schedules keep their place in the run.
    ratio = config.steps / paper.steps
    assert config.rate_half_life / paper.rate_half_life == pytest.approx(ratio, rel=0.05)
    assert config.image_rbms[0].steps / paper.image_rbms[0].steps == pytest.approx(ratio, rel=0.05)


@pytest.mark.parametrize("preset", ["cpu", "smoke"])
@pytest.mark.parametrize("method", sorted(PAPER_VALUES))
def test_cpu_and_smoke_load_the_committed_standin_of_their_backbone(method, preset):
    config = registry.get_method(method).preset(preset)
    backbone = pretrain.BACKBONES[BACKBONE_OF[method]]
    assert config.weights == configs.standin_weights(preset, backbone.weights_file)
    path = configs.pretrained_weights(config)
    assert os.path.isfile(path) and path.startswith(configs.STANDIN_DIR)
    # The file was pretrained at exactly this preset's image-net shapes.
    shapes = pretrain.image_config(BACKBONE_OF[method], preset)
    for field in NET_SCALE_FIELDS & {f.name for f in dataclasses.fields(shapes)}:
        assert getattr(config.image_net, field) == getattr(shapes, field), (method, preset, field)


def test_a_missing_standin_file_is_one_error_naming_the_command(monkeypatch, tmp_path):
    from sdch_tf.input_errors import InputError

    monkeypatch.setattr(configs, "STANDIN_DIR", str(tmp_path))
    config = registry.get_method("sdch").preset("cpu")
    with pytest.raises(InputError, match="python -m sdch_tf.pretrain"):
        configs.pretrained_weights(config)
    assert configs.pretrained_weights(dataclasses.replace(config, weights="w.npy")) == "w.npy"
    assert configs.pretrained_weights(dataclasses.replace(config, weights=configs.NO_WEIGHTS)) is None
