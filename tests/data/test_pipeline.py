"""The tf.data input pipeline (docs/reproduction.md §1, last bullet) on fabricated images."""
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from sdch_tf.nets.alexnet import CAFFE_IMAGENET_MEAN_RGB, ImageNetConfig
from sdch_tf.data.dataset import ArrayImages, CrossModalData
from sdch_tf.data.mat import write_mat_v73
from sdch_tf.data.mat_images import read_images
from sdch_tf.data.pipeline import (
    ImagePreprocessing,
    image_batches,
    preprocess_images,
    text_batches,
    train_batches,
)

PLAIN = dict(mean_rgb=(0.0, 0.0, 0.0), bgr=False)


def position_images(n, size):
    """uint8 (n, size, size, 3): R = row, G = column + 100, B = sample — each pixel says where it is."""
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    one = np.stack([rows, cols + 100, np.zeros_like(rows)], axis=-1)
    images = np.repeat(one[None], n, axis=0)
    images[..., 2] = np.arange(n)[:, None, None]
    return images.astype(np.uint8)


def indexed_data(n=12, size=10):
    """Sample i: image pixels as position_images, text (i, i + 0.5, -i), labels the bits of i."""
    texts = np.stack([np.arange(n), np.arange(n) + 0.5, -np.arange(n)], axis=1).astype(np.float32)
    labels = ((np.arange(n)[:, None] >> np.arange(4)) & 1).astype(np.uint8)
    return CrossModalData("indexed", ArrayImages(position_images(n, size)), texts, labels)


def numpy_bilinear(image, out_h, out_w):
    """Plain-numpy transcription of tf.image.resize bilinear (half-pixel centres, no antialias)."""
    in_h, in_w = image.shape[:2]

    def taps(out_size, in_size):
        centre = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
        low = np.floor(centre)
        frac = centre - low
        low_i = np.clip(low, 0, in_size - 1).astype(int)
        high_i = np.clip(low + 1, 0, in_size - 1).astype(int)
        return low_i, high_i, frac

    y0, y1, fy = taps(out_h, in_h)
    x0, x1, fx = taps(out_w, in_w)
    img = image.astype(np.float64)
    top = img[y0][:, x0] * (1 - fx)[None, :, None] + img[y0][:, x1] * fx[None, :, None]
    bottom = img[y1][:, x0] * (1 - fx)[None, :, None] + img[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]


# ------------------------------------------------------------------------------ preprocessing


def test_preprocessing_from_the_paper_config():
    prep = ImagePreprocessing.from_config(ImageNetConfig())
    assert prep == ImagePreprocessing(resize=256, crop=227, mean_rgb=CAFFE_IMAGENET_MEAN_RGB, bgr=True)
    assert prep.centre_offset == 14 and prep.max_offset == 29


def test_preprocessing_rejects_bad_sizes():
    with pytest.raises(ValueError, match="crop=9, resize=8"):
        ImagePreprocessing(resize=8, crop=9)
    with pytest.raises(ValueError, match="3 values"):
        ImagePreprocessing(resize=8, crop=4, mean_rgb=(1.0, 2.0))


def test_centre_crop_exact_values():
    images = position_images(2, 10)
    got = preprocess_images(tf.constant(images), ImagePreprocessing(resize=10, crop=6, **PLAIN)).numpy()
    assert got.dtype == np.float32 and got.shape == (2, 6, 6, 3)
    np.testing.assert_array_equal(got, images[:, 2:8, 2:8, :])
    np.testing.assert_array_equal(got[0, :, 0, 0], [2, 3, 4, 5, 6, 7])  # rows 2..7
    np.testing.assert_array_equal(got[0, 0, :, 1], [102, 103, 104, 105, 106, 107])  # columns 2..7
    odd = preprocess_images(tf.constant(images), ImagePreprocessing(resize=10, crop=7, **PLAIN)).numpy()
    np.testing.assert_array_equal(odd, images[:, 1:8, 1:8, :])  # (10 - 7) // 2 = 1, as Caffe


def test_constant_colour_gives_colour_minus_mean_reversed():
    colour = np.array([200, 100, 50], np.uint8)
    mean = (10.5, 20.25, 30.125)
    images = np.broadcast_to(colour, (3, 9, 9, 3)).copy()
    prep = ImagePreprocessing(resize=9, crop=5, mean_rgb=mean, bgr=True)
    got = preprocess_images(tf.constant(images), prep).numpy()
    assert got.shape == (3, 5, 5, 3)
    np.testing.assert_array_equal(got, np.broadcast_to([50 - 30.125, 100 - 20.25, 200 - 10.5], got.shape))
    rgb = preprocess_images(tf.constant(images), ImagePreprocessing(resize=9, crop=5, mean_rgb=mean)).numpy()
    np.testing.assert_array_equal(rgb, np.broadcast_to([200 - 10.5, 100 - 20.25, 50 - 30.125], got.shape))


def test_constant_colour_through_resize_and_random_crops():
    images = np.broadcast_to(np.array([200, 100, 50], np.uint8), (2, 7, 5, 3)).copy()
    prep = ImagePreprocessing(resize=12, crop=10, mean_rgb=(1.0, 2.0, 3.0), bgr=True)
    offsets = tf.constant([[0, 2], [2, 0]], tf.int32)
    got = preprocess_images(tf.constant(images), prep, offsets).numpy()
    assert got.shape == (2, 10, 10, 3)
    np.testing.assert_allclose(got, np.broadcast_to([47.0, 98.0, 199.0], got.shape), rtol=0, atol=1e-4)


def test_bgr_reverses_after_subtracting_the_rgb_mean():
    images = position_images(1, 6)  # R = row, G = column + 100, B = 0
    prep = ImagePreprocessing(resize=6, crop=6, mean_rgb=(1.0, 2.0, 3.0), bgr=True)
    got = preprocess_images(tf.constant(images), prep).numpy()
    np.testing.assert_array_equal(got[..., 0], images[..., 2] - 3.0)  # B - mean_B
    np.testing.assert_array_equal(got[..., 1], images[..., 1] - 2.0)
    np.testing.assert_array_equal(got[..., 2], images[..., 0] - 1.0)  # R - mean_R


@pytest.mark.parametrize("in_h, in_w, size", [(7, 5, 9), (12, 10, 8), (6, 6, 11)])
def test_resize_matches_numpy_bilinear(in_h, in_w, size):
    image = np.random.default_rng(in_h).integers(0, 256, (1, in_h, in_w, 3), dtype=np.uint8)
    got = preprocess_images(tf.constant(image), ImagePreprocessing(resize=size, crop=size, **PLAIN)).numpy()
    np.testing.assert_allclose(got[0], numpy_bilinear(image[0], size, size), rtol=0, atol=1e-3)


def test_random_crops_are_windows_of_the_resized_image():
    images = np.random.default_rng(0).integers(0, 256, (3, 7, 9, 3), dtype=np.uint8)
    prep = ImagePreprocessing(resize=8, crop=5, **PLAIN)
    offsets = np.array([[0, 3], [3, 0], [2, 1]], np.int32)
    got = preprocess_images(tf.constant(images), prep, tf.constant(offsets)).numpy()
    for i, (oy, ox) in enumerate(offsets):
        window = numpy_bilinear(images[i], 8, 8)[oy:oy + 5, ox:ox + 5]
        np.testing.assert_allclose(got[i], window, rtol=0, atol=1e-3)


# ------------------------------------------------------------------------------ training batches


def epoch(dataset):
    return list(dataset.as_numpy_iterator())


def test_train_batches_shapes_and_dtypes():
    data = indexed_data(n=10, size=10)
    dataset = train_batches(data, np.arange(10), 4, ImagePreprocessing(resize=8, crop=6), seed=0)
    assert int(dataset.cardinality()) == 3  # known to Keras up front
    batches = epoch(dataset)
    assert [len(b["index"]) for b in batches] == [4, 4, 2]  # last partial batch kept
    b = batches[0]
    assert set(b) == {"image", "text", "label", "index"}
    assert b["image"].shape == (4, 6, 6, 3) and b["image"].dtype == np.float32
    assert b["text"].shape == (4, 3) and b["text"].dtype == np.float32
    assert b["label"].shape == (4, 4) and b["label"].dtype == np.float32
    assert b["index"].dtype == np.int32


def test_each_position_once_per_epoch_with_its_own_text_label_and_image():
    data = indexed_data(n=12, size=10)
    indices = np.array([7, 3, 9, 0, 5, 11, 2])
    prep = ImagePreprocessing(resize=10, crop=4, **PLAIN)  # B channel = sample number, crop-invariant
    dataset = train_batches(data, indices, 3, prep, seed=5)
    for _ in range(2):
        batches = epoch(dataset)
        positions = np.concatenate([b["index"] for b in batches])
        np.testing.assert_array_equal(np.sort(positions), np.arange(len(indices)))
        for b in batches:
            sample = indices[b["index"]]
            np.testing.assert_array_equal(b["text"], data.texts[sample])
            np.testing.assert_array_equal(b["label"], data.labels[sample].astype(np.float32))
            expected_image = np.broadcast_to(sample[:, None, None], (len(sample), 4, 4))
            np.testing.assert_array_equal(b["image"][..., 2], expected_image)


def orders(dataset, epochs):
    return [np.concatenate([b["index"] for b in epoch(dataset)]) for _ in range(epochs)]


def test_reshuffled_every_epoch_and_reproducible_for_a_seed():
    data = indexed_data(n=20, size=10)
    prep = ImagePreprocessing(resize=10, crop=6, **PLAIN)
    first = orders(train_batches(data, np.arange(20), 8, prep, seed=3), 3)
    again = orders(train_batches(data, np.arange(20), 8, prep, seed=3), 3)
    other = orders(train_batches(data, np.arange(20), 8, prep, seed=4), 1)
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    # The documented seeding: epoch e's order is default_rng([seed, e]).permutation(n).
    np.testing.assert_array_equal(first[1], np.random.default_rng([3, 1]).permutation(20))
    resumed = orders(train_batches(data, np.arange(20), 8, prep, seed=3, start_epoch=2), 1)
    np.testing.assert_array_equal(resumed[0], first[2])


def test_same_seed_same_batches_bit_for_bit():
    data = indexed_data(n=20, size=12)
    prep = ImagePreprocessing(resize=14, crop=9, mean_rgb=(1.5, 2.5, 3.5), bgr=True)  # resize + random crops
    a = epoch(train_batches(data, np.arange(20), 6, prep, seed=9))
    b = epoch(train_batches(data, np.arange(20), 6, prep, seed=9))
    for x, y in zip(a, b):
        for key in ("image", "text", "label", "index"):
            np.testing.assert_array_equal(x[key], y[key])


def test_random_crops_stay_inside_the_image():
    size, crop = 12, 5
    data = indexed_data(n=16, size=size)
    dataset = train_batches(data, np.arange(16), 16, ImagePreprocessing(resize=size, crop=crop, **PLAIN), seed=1)
    seen = set()
    for _ in range(3):
        for b in epoch(dataset):
            for image in b["image"]:
                oy, ox = int(image[0, 0, 0]), int(image[0, 0, 1]) - 100  # the pixel says where it is
                assert 0 <= oy <= size - crop and 0 <= ox <= size - crop
                window = position_images(1, size)[0, oy:oy + crop, ox:ox + crop, :2]
                np.testing.assert_array_equal(image[..., :2], window)  # a contiguous, unflipped window
                seen.add((oy, ox))
    assert len(seen) > 10  # offsets really vary per sample and epoch


def test_one_image_source_read_per_batch():
    calls = []

    class Counting(ArrayImages):
        def read(self, indices):
            calls.append(len(indices))
            return super().read(indices)

    base = indexed_data(n=10, size=8)
    data = CrossModalData("c", Counting(position_images(10, 8)), base.texts, base.labels)
    epoch(train_batches(data, np.arange(10), 4, ImagePreprocessing(resize=8, crop=6), seed=0))
    assert sorted(calls) == [2, 4, 4]


def test_indices_are_copied_and_checked():
    data = indexed_data(n=6, size=8)
    prep = ImagePreprocessing(resize=8, crop=6)
    indices = np.array([5, 4, 3])
    dataset = train_batches(data, indices, 2, prep, seed=0)
    indices[:] = 0  # the caller reuses its array: the dataset must not see it
    texts = np.concatenate([b["text"][:, 0] for b in epoch(dataset)])
    np.testing.assert_array_equal(np.sort(texts), [3, 4, 5])
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        train_batches(data, np.array([0, 6]), 2, prep, seed=0)
    with pytest.raises(ValueError, match="non-empty"):
        image_batches(data, np.array([], np.int64), 2, prep)
    with pytest.raises(ValueError, match="batch_size"):
        text_batches(data, np.arange(3), 0)


# ------------------------------------------------------------------------------ encoding batches


def test_image_batches_in_order_centre_cropped():
    data = indexed_data(n=12, size=10)
    indices = np.array([11, 0, 4, 4, 7])
    batches = epoch(image_batches(data, indices, 2, ImagePreprocessing(resize=10, crop=6, **PLAIN)))
    assert [len(b) for b in batches] == [2, 2, 1]
    images = np.concatenate(batches)
    assert images.dtype == np.float32
    np.testing.assert_array_equal(images, position_images(12, 10)[indices, 2:8, 2:8, :])


def test_text_batches_in_order():
    data = indexed_data(n=12, size=8)
    indices = np.array([3, 9, 1, 1, 10])
    batches = epoch(text_batches(data, indices, 3))
    assert [b.shape for b in batches] == [(3, 3), (2, 3)]
    assert batches[0].dtype == np.float32
    np.testing.assert_array_equal(np.concatenate(batches), data.texts[indices])


def test_hdf5_images_through_the_pipeline(tmp_path):
    images = position_images(6, 9)
    write_mat_v73(tmp_path / "iall.mat", {"IAll": ArrayImages(images)})
    base = indexed_data(n=6, size=9)
    data = CrossModalData("h5", read_images(tmp_path / "iall.mat", "IAll", 6), base.texts, base.labels)
    indices = np.array([5, 2, 2, 0])
    got = np.concatenate(epoch(image_batches(data, indices, 3, ImagePreprocessing(resize=9, crop=5, **PLAIN))))
    np.testing.assert_array_equal(got, images[indices, 2:7, 2:7, :])


@pytest.mark.parametrize("pread", [True, False], ids=["pread", "h5py"])
def test_parallel_pipeline_reads_of_hdf5_images_equal_in_memory_ones(tmp_path, pread):
    """Many small batches, so that tf.data's parallel maps call ``read`` from several threads at once."""
    from sdch_tf.data.mat_images import HDF5Images

    n = 200
    images = np.random.default_rng(0).integers(0, 256, size=(n, 12, 12, 3), dtype=np.uint8)
    write_mat_v73(tmp_path / "iall.mat", {"IAll": ArrayImages(images)})
    texts = np.random.default_rng(1).random((n, 5)).astype(np.float32)
    labels = (np.random.default_rng(2).random((n, 3)) < 0.5).astype(np.uint8)
    source = HDF5Images(tmp_path / "iall.mat", "IAll", n, pread=pread)
    assert source.reader == ("pread" if pread else "h5py")
    on_disk = CrossModalData("h5", source, texts, labels)
    in_memory = CrossModalData("mem", ArrayImages(images), texts, labels)
    prep = ImagePreprocessing(resize=12, crop=9, **PLAIN)
    indices = np.random.default_rng(3).permutation(n)[:150]
    for make in (lambda d: image_batches(d, indices, 4, prep), lambda d: train_batches(d, indices, 4, prep, seed=5)):
        got, want = epoch(make(on_disk)), epoch(make(in_memory))
        assert len(got) == len(want) == 38
        for a, b in zip(got, want):
            a, b = (x if isinstance(x, dict) else {"image": x} for x in (a, b))
            assert a.keys() == b.keys()
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
    source.close()


def test_package_exports_every_public_name_and_imports_tensorflow_lazily():
    import subprocess
    import sys

    import sdch_tf.data

    for name in sdch_tf.data.__all__:
        assert getattr(sdch_tf.data, name) is not None
    assert sdch_tf.data.train_batches is train_batches
    # The configurations import the package: that must not pull in TensorFlow.
    code = "import sys, sdch_tf.configs, sdch_tf.nets.configs, sdch_tf.data; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
