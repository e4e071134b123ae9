"""The feature-based methods' input and training frame: features in place of images, a features
file's split, the extraction cache, and a solve that is recorded once and resumed, not redone."""
import numpy as np
import pytest

from sdch_tf.configs import DataConfig
from sdch_tf.data.dataset import CrossModalData, FeatureRows
from sdch_tf.data.split import Split
from sdch_tf.training import closed_form


def feature_data(n=12, d=3, split=None):
    rng = np.random.default_rng(0)
    return CrossModalData(name="toy", images=FeatureRows(rng.normal(size=(n, d))),
                          texts=rng.random((n, 4)).astype(np.float32),
                          labels=(rng.random((n, 2)) < 0.5).astype(np.uint8), split=split)


def test_feature_rows_are_read_in_order_as_float32():
    data = feature_data()
    rows = data.images.read(np.array([3, 1, 3]))
    assert rows.dtype == np.float32 and rows.shape == (3, 3)
    np.testing.assert_array_equal(rows[0], rows[2])
    assert data.has_features and data.image_shape == (3,)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        FeatureRows(np.zeros((2, 3, 4)))


def test_image_batches_give_feature_rows_without_preprocessing():
    from sdch_tf.data.pipeline import ImagePreprocessing, image_batches

    data = feature_data(n=10)
    indices = np.array([9, 0, 4, 5, 2])
    got = np.concatenate([b.numpy() for b in image_batches(data, indices, 2, None)])
    np.testing.assert_array_equal(got, data.images.read(indices))
    with pytest.raises(ValueError, match="no image preprocessing"):
        image_batches(data, indices, 2, ImagePreprocessing(resize=8, crop=8))


def test_training_batches_of_features_pair_each_row_with_its_text_in_the_epochs_order():
    from sdch_tf.data.pipeline import ImagePreprocessing, train_batches

    data = feature_data(n=10)
    indices = np.array([9, 0, 4, 5, 2, 7, 1])
    batches = list(train_batches(data, indices, 3, None, seed=4, stop_epoch=1))
    order = np.random.default_rng([4, 0]).permutation(len(indices))  # epoch 0 of seed 4
    rows = indices[order]
    np.testing.assert_array_equal(np.concatenate([b["index"].numpy() for b in batches]), order)
    np.testing.assert_array_equal(np.concatenate([b["image"].numpy() for b in batches]), data.images.read(rows))
    np.testing.assert_allclose(np.concatenate([b["text"].numpy() for b in batches]), data.texts[rows])
    assert batches[0]["image"].dtype == np.float32 and [len(b["index"]) for b in batches] == [3, 3, 1]
    with pytest.raises(ValueError, match="no image preprocessing"):
        train_batches(data, indices, 3, ImagePreprocessing(resize=8, crop=8), seed=4)


def test_a_recorded_split_is_used_for_every_seed_and_draws_only_the_labelled_items():
    from sdch_tf.run.experiment import split_for

    recorded = Split(query=np.array([0, 1]), database=np.arange(2, 12), train=np.array([5, 3, 7, 9]), seed=-1)
    data = feature_data(split=recorded)
    for seed in (0, 3):
        split = split_for(DataConfig(), data, seed)
        np.testing.assert_array_equal(split.train, recorded.train)
        np.testing.assert_array_equal(split.query, recorded.query)
        assert split.labelled is None
    half = split_for(DataConfig(label_fraction=0.5), data, 1)
    assert half.labelled.sum() == 2
    with pytest.raises(Exception, match="fixes the split"):
        split_for(DataConfig(num_train=3), data, 0)


class _Hasher(closed_form.FeatureHasher):
    def state(self):
        return {"w": self.image.weights, "m": self.image.mean}

    def load_state(self, arrays):
        self.image = closed_form.LinearProjection(arrays["m"], arrays["w"])


def test_fit_solved_records_once_and_resumes_from_the_solution(tmp_path):
    hasher = _Hasher(2)
    calls = []

    def solve():
        calls.append(1)
        hasher.image = closed_form.LinearProjection(np.array([1.0, 0.0]), np.array([[1.0, -1.0], [0.0, 2.0]]))
        return {"objective": 0.5}

    (record,) = closed_form.fit_solved(hasher, solve, str(tmp_path), verbose=0)
    assert record["epoch"] == 1 and record["objective"] == 0.5 and record["seconds"] >= 0
    again = _Hasher(2)
    assert closed_form.fit_solved(again, solve, str(tmp_path), verbose=0) == [record]
    assert len(calls) == 1
    # (x − mean) W with 0 → +1: [2, 1] − [1, 0] = [1, 1] → [1, 1]·W = [1, 1] → +1, +1; [1, −1] → [0, −1] → [0, −2]
    np.testing.assert_array_equal(again.encode_image(np.array([[2.0, 1.0], [1.0, -1.0]])), [[1, 1], [1, -1]])


def test_extracted_features_are_cached_and_read_back(tmp_path, monkeypatch):
    from baselines.scm.config import preset
    from sdch_tf.data.loading import load_data
    from sdch_tf.run import method_data
    from sdch_tf.registry import get_method

    monkeypatch.setenv("SDCH_TF_CACHE", str(tmp_path))
    config = preset("smoke")
    first = method_data.load_method_data(get_method("scm"), config, verbose=False)
    (cached,) = list((tmp_path / "features").glob("*.npy"))
    assert first.has_features and first.num_samples == 240
    # The features are the backbone's forward pass: the same as python -m sdch_tf.features computes.
    from sdch_tf.nets.backbones import feature_blocks, feature_model
    from sdch_tf.data.pipeline import ImagePreprocessing

    model, _ = feature_model("alexnet", config)
    images = load_data(config.data)
    direct = np.concatenate(list(feature_blocks(model, images, ImagePreprocessing.from_config(config.image_net),
                                                64, verbose=False)))
    np.testing.assert_allclose(first.images.read(np.arange(240)), direct, rtol=1e-5, atol=1e-5)
    # The second load reads the cache: a file with other values is what comes back.
    np.save(cached, np.ones((240, direct.shape[1]), np.float32))
    second = method_data.load_method_data(get_method("scm"), config, verbose=False)
    np.testing.assert_array_equal(second.images.read(np.arange(3)), np.ones((3, direct.shape[1])))
