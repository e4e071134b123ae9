"""The synthetic set written in the MIRFlickr split-file layout loads back through the real reader."""
import numpy as np
import pytest

from sdch_tf.data import SyntheticConfig, load_dataset, make_synthetic, mat_version, write_mirflickr


@pytest.mark.parametrize("merged", [False, True])
def test_synthetic_round_trips_through_the_mirflickr_reader(tmp_path, merged):
    data = make_synthetic(SyntheticConfig(num_samples=60, image_size=40, vocab_size=200))
    paths = write_mirflickr(data, tmp_path, merged=merged)
    names = sorted(p.name for p in paths)
    if merged:
        assert names == ["FLICKR-25K.mat"] and mat_version(tmp_path / "FLICKR-25K.mat") == "v7.3"
    else:
        assert names == ["mirflickr25k-iall.mat", "mirflickr25k-lall.mat", "mirflickr25k-yall.mat"]
        assert mat_version(tmp_path / "mirflickr25k-iall.mat") == "v7.3"
        assert mat_version(tmp_path / "mirflickr25k-lall.mat") == "v5"
    loaded = load_dataset("mirflickr", tmp_path)
    assert loaded.num_samples == 60 and loaded.image_shape == (40, 40, 3)
    np.testing.assert_array_equal(loaded.labels, data.labels)
    np.testing.assert_array_equal(loaded.texts, data.texts)
    order = np.array([59, 3, 3, 17, 0])
    np.testing.assert_array_equal(loaded.images.read(order), data.images.read(order))
