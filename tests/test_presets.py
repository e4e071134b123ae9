"""The paper presets hold no from-scratch fix; the cpu/smoke presets keep theirs (README, "Paper and
cpu presets"). Each value below is the paper's (or its authors' code's), cited in the method's config."""
import pytest

from sdch_tf import registry

# field → the paper's value, per method: what a from-scratch fix of the cpu preset changes.
PAPER_VALUES = {
    "sdch": {"data_init": False, "fc4_init": "normal", "code_refresh": "forward", "itq_centering": "joint"},
    "dcmh": {"output_std": 0.0, "eta": 1.0, "optimizer": "sgd", "average_image": True},
    "cmhn": {"output_std": None, "input_scale": 1.0, "lr_new": 1e-2},
    "dspah": {"output_init_std": None, "rate_scaled_from_bits": None, "optimizer": "sgd"},
    "rdcmh": {"margin": 0.0, "optimizer": "sgd", "data_init": False},
}


@pytest.mark.parametrize("method", sorted(PAPER_VALUES))
def test_paper_presets_hold_the_papers_values(method):
    config = registry.get_method(method).preset("paper")
    for field, value in PAPER_VALUES[method].items():
        assert getattr(config, field) == value, (method, field)


def test_paper_networks_are_the_papers():
    assert registry.get_method("cmhn").preset("paper").image_net.dropout == 0.0  # deploy VGG-F, CMHN §3
    assert registry.get_method("dspah").preset("paper").text_net.blocks == (3, 4, 6, 3)  # DSPAH §IV.B ResNet-34
    assert registry.get_method("dspah").preset("paper").image_net.blocks == (3, 4, 6, 3)
    assert registry.get_method("rdcmh").preset("paper").lr_image == pytest.approx(10 ** -1.5 / 1.28e6)


@pytest.mark.parametrize("method, departures", [
    ("sdch", {"data_init": True}),
    ("dspah", {"output_init_std": 1.0, "rate_scaled_from_bits": 8}),
    ("rdcmh", {"margin": 0.5, "optimizer": "adam", "data_init": True}),
])
def test_the_from_scratch_presets_keep_their_measured_departures(method, departures):
    for preset in ("cpu", "smoke"):
        config = registry.get_method(method).preset(preset)
        for field, value in departures.items():
            if preset == "smoke" and field == "rate_scaled_from_bits":
                continue
            assert getattr(config, field) == value, (method, preset, field)
