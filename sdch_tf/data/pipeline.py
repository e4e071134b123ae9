"""tf.data input pipeline: paired mini-batches for training, ordered batches for encoding.

Image preprocessing follows docs/reproduction.md §1 (last bullet) and SDCH §4.1 ("All images were
resized to 256 * 256 * 3"): the DCMH files hold 224×224 images, which are resized
(bilinear) to ``resize``×``resize``, then cropped to ``crop``×``crop`` (227 for AlexNet, SDCH
§3.2) — a random crop per sample for training, the centre crop for encoding — and the
ImageNet mean of the loaded weights is subtracted; Caffe's AlexNet expects BGR channels.

Images are read through ``ImageSource.read`` once per batch, inside ``tf.numpy_function``,
so HDF5-backed sources are read by batch and never loaded whole; texts and labels are
gathered by the same call, which is what keeps the three modalities paired. The parallel
maps run several reads at once: ``mat.HDF5Images``' pread reader really overlaps them (it
releases the GIL and takes no lock), its h5py reader serialises them.

Memory: what is in flight is a few batches (parallel map calls plus the prefetch buffer),
whatever the dataset size; the only O(N) arrays here are the index arrays (int64, and the
epoch's order and crop offsets for training), never images.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from sdch_tf.data.dataset import CrossModalData

if TYPE_CHECKING:  # the data layer imports no network module at run time
    from sdch_tf.nets.configs import ImageNetConfig


@dataclass(frozen=True)
class ImagePreprocessing:
    """How uint8 RGB images become network input.

    Attributes:
        resize: side of the square the images are resized to (256, SDCH §4.1).
        crop: side of the square crop fed to the network (227, SDCH §3.2); <= resize.
        mean_rgb: per-channel mean subtracted, in RGB order (that of the loaded weights).
        bgr: reverse the channels to BGR after subtracting the mean (Caffe weights).
        mean_image: None, or a float32 (h, w, 3) RGB average image subtracted instead of
            ``mean_rgb`` (MatConvNet's ``averageImage``, as DCMH's code subtracts it), resized
            bilinearly to crop × crop when its size differs.
    """

    resize: int
    crop: int
    mean_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    bgr: bool = False
    mean_image: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.resize <= 0 or self.crop <= 0 or self.crop > self.resize:
            raise ValueError(f"need 0 < crop <= resize, got crop={self.crop}, resize={self.resize}")
        if len(self.mean_rgb) != 3:
            raise ValueError(f"mean_rgb must have 3 values (R, G, B), got {self.mean_rgb}")
        if self.mean_image is not None:
            shape = np.shape(self.mean_image)
            if len(shape) != 3 or shape[-1] != 3:
                raise ValueError(f"mean_image must have shape (h, w, 3), got {shape}")

    @classmethod
    def from_config(cls, config: "ImageNetConfig") -> "ImagePreprocessing":
        """From ``sdch_tf.sdch.config.ImageNetConfig`` (resize, input_size, mean_rgb, bgr)."""
        return cls(
            resize=int(config.resize),
            crop=int(config.input_size),
            mean_rgb=tuple(float(m) for m in config.mean_rgb),
            bgr=bool(config.bgr),
        )

    @property
    def max_offset(self) -> int:
        """Largest crop offset along each axis: offsets lie in [0, resize - crop]."""
        return self.resize - self.crop

    @property
    def centre_offset(self) -> int:
        """Offset of the centre crop along each axis, (resize - crop) // 2 as Caffe does (14 for 256→227)."""
        return (self.resize - self.crop) // 2


def preprocess_images(images: tf.Tensor, prep: ImagePreprocessing, offsets: tf.Tensor | None = None) -> tf.Tensor:
    """uint8 RGB (b, H, W, 3) -> float32 (b, crop, crop, 3), network-ready.

    Args:
        images: uint8 (b, H, W, 3), RGB; H and W must be known statically.
        prep: the preprocessing.
        offsets: int32 (b, 2) per-sample (row, column) of the crop's top-left corner in the
            resized image, each in [0, prep.max_offset]; None takes the centre crop.

    Equals: float32 -> bilinear resize to resize×resize (skipped when already that size) ->
    crop -> subtract mean_rgb -> reverse channels if bgr. Subtracting the RGB mean before
    reversing equals subtracting the BGR mean from BGR images (Caffe). The work is reordered
    for speed without changing a bit of the result: the channel reversal commutes with the
    per-channel resize and the crop, so it is done on the uint8 input (a quarter of the bytes);
    the mean is subtracted after the crop, in the output channel order.
    """
    height, width = images.shape[1], images.shape[2]
    mean = tuple(prep.mean_rgb)
    x = images
    if prep.bgr:
        x = tf.reverse(x, axis=[-1])
        mean = mean[::-1]
    if (height, width) != (prep.resize, prep.resize):
        x = tf.image.resize(x, (prep.resize, prep.resize), method="bilinear")  # float32 out
        height = width = prep.resize
    if offsets is None:
        start = prep.centre_offset
        x = x[:, start:start + prep.crop, start:start + prep.crop, :]
    else:
        x = _crop_per_sample(x, offsets, prep.crop, height, width)
    if prep.mean_image is not None:
        return tf.cast(x, tf.float32) - _average_image(prep)
    return tf.cast(x, tf.float32) - tf.constant(mean, tf.float32)


def _average_image(prep: ImagePreprocessing) -> tf.Tensor:
    """prep.mean_image as float32 (crop, crop, 3) in the output channel order."""
    image = np.asarray(prep.mean_image, np.float32)
    if prep.bgr:
        image = image[..., ::-1]
    if image.shape[:2] != (prep.crop, prep.crop):
        return tf.image.resize(tf.constant(image), (prep.crop, prep.crop), method="bilinear")
    return tf.constant(image, tf.float32)


def _crop_per_sample(x: tf.Tensor, offsets: tf.Tensor, crop: int, height: int, width: int) -> tf.Tensor:
    """(b, height, width, 3) -> (b, crop, crop, 3), sample i's window starting at offsets[i].

    One gather of pixel rows from the flattened batch: faster than two batched gathers or a
    map_fn of slices. int32 flat indices hold for b * height * width < 2**31.
    """
    offsets = tf.cast(offsets, tf.int32)
    window = tf.range(crop, dtype=tf.int32)
    rows = offsets[:, 0:1] + window  # (b, crop)
    cols = offsets[:, 1:2] + window  # (b, crop)
    sample = tf.range(tf.shape(x)[0], dtype=tf.int32)[:, None, None]
    flat = (sample * height + rows[:, :, None]) * width + cols[:, None, :]  # (b, crop, crop)
    return tf.gather(tf.reshape(x, (-1, x.shape[-1])), flat)


def _checked_indices(data: CrossModalData, indices) -> np.ndarray:
    """A private int64 copy of ``indices`` (the caller may reuse its array), range-checked."""
    indices = np.array(indices, copy=True)
    if indices.ndim != 1 or indices.size == 0 or indices.dtype.kind not in "iu":
        raise ValueError(f"indices must be a non-empty 1-D integer array, got {indices.dtype} {indices.shape}")
    if indices.min() < 0 or indices.max() >= data.num_samples:
        raise ValueError(
            f"indices must lie in [0, {data.num_samples}) for {data.name}, "
            f"got [{indices.min()}, {indices.max()}]"
        )
    return indices.astype(np.int64)


def _checked_batch_size(batch_size: int) -> int:
    if int(batch_size) <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return int(batch_size)


def train_batches(
    data: CrossModalData,
    indices,
    batch_size: int,
    prep: ImagePreprocessing | None,
    seed: int,
    *,
    start_epoch: int = 0,
    stop_epoch: int | None = None,
) -> tf.data.Dataset:
    """Training batches of paired samples, epoch after epoch.

    Epoch e visits ``indices`` in the order ``np.random.default_rng([seed, e])`` draws, with
    crop offsets from the same generator: reshuffled every epoch, the same epochs for the same
    seed. The last partial batch is kept, so each training sample is seen once per epoch
    (Algorithm 1 records Z per sample, docs/reproduction.md §1).

    With ``stop_epoch``: the dataset is epochs ``start_epoch`` .. ``stop_epoch`` − 1 in
    sequence, ``num_train_batches(len(indices), batch_size)`` batches each (give that to
    ``fit(steps_per_epoch=)``). Every iterator of it yields the same batches, whatever other
    iterators were made before — Keras under a ``tf.distribute`` strategy makes one to peek at
    a batch and discards it — so the data order depends on (seed, epoch) alone; resuming after
    epoch e is ``start_epoch=e``.

    Without ``stop_epoch`` (the baselines' use): each iteration of the dataset is one epoch,
    counted from ``start_epoch`` by the iterations made so far (a peeking iterator counts).

    Yields dicts:
        image: float32 (b, crop, crop, 3), random crop per sample; for data holding image
            features (``data.has_features``, ``prep`` None) float32 (b, d) rows.
        text: float32 (b, d).
        label: float32 (b, C).
        index: int32 (b,), the position of each sample within ``indices`` (0..len(indices)-1).
    """
    indices = _checked_indices(data, indices)
    batch_size = _checked_batch_size(batch_size)
    features = _feature_rows(data, prep)
    n = len(indices)
    num_batches = num_train_batches(n, batch_size)

    def epoch_plan(epoch):
        """(order (n,) int32, crop offsets (n, 2) int32) of one epoch."""
        rng = np.random.default_rng([int(seed), int(epoch)])
        order = rng.permutation(n).astype(np.int32)
        # Feature rows have no crop: their offsets are all 0 (drawn after the order, which they leave alone).
        max_offset = 0 if features else prep.max_offset
        offsets = rng.integers(0, max_offset + 1, size=(n, 2), dtype=np.int32)
        return order, offsets

    if stop_epoch is None:
        epochs = itertools.count(int(start_epoch))

        def counted_epoch():
            order, offsets = epoch_plan(next(epochs))
            for start in range(0, n, batch_size):
                yield order[start:start + batch_size], offsets[start:start + batch_size]

        plan = tf.data.Dataset.from_generator(
            counted_epoch,
            output_signature=(tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None, 2), tf.int32)),
        )
        total_batches = num_batches
    else:
        if int(stop_epoch) <= int(start_epoch):
            raise ValueError(f"stop_epoch must exceed start_epoch, got {start_epoch} .. {stop_epoch}")

        def one_epoch(epoch):
            order, offsets = tf.numpy_function(epoch_plan, [epoch], [tf.int32, tf.int32], name="epoch_plan")
            order.set_shape((n,))
            offsets.set_shape((n, 2))
            return tf.data.Dataset.from_tensor_slices((order, offsets)).batch(batch_size)

        plan = tf.data.Dataset.range(int(start_epoch), int(stop_epoch)).flat_map(one_epoch)
        total_batches = num_batches * (int(stop_epoch) - int(start_epoch))
    read = _paired_reader(data, indices)

    def load(positions, offsets):
        images, texts, labels = read(positions)
        return {
            "image": images if features else preprocess_images(images, prep, offsets),
            "text": texts,
            "label": labels,
            "index": positions,
        }

    batches = plan.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # tf.data cannot count a generator's or a flat_map's batches; stating the number lets Keras
    # size its progress bar and spares its "input ran out of data" warning.
    return batches.apply(tf.data.experimental.assert_cardinality(total_batches)).prefetch(tf.data.AUTOTUNE)


def num_train_batches(num_samples: int, batch_size: int) -> int:
    """Batches of one training epoch: the last, partial one included."""
    return -(-int(num_samples) // int(batch_size))


def _feature_rows(data: CrossModalData, prep: ImagePreprocessing | None) -> bool:
    """True for data holding image features (read as float32 rows, no preprocessing), False for
    images; ValueError when the preprocessing does not go with them."""
    if data.has_features or prep is None:
        if not (data.has_features and prep is None):
            raise ValueError(f"{data.name}: image features go with no image preprocessing and images with one; "
                             f"got {'features' if data.has_features else 'images'} and preprocessing {prep!r}")
        return True
    return False


def _paired_reader(data: CrossModalData, indices: np.ndarray):
    """positions (b,) -> (uint8 images or float32 feature rows, float32 texts, float32 labels), one
    ImageSource.read call."""
    image_shape = tuple(data.images.shape[1:])
    image_dtype = np.float32 if data.has_features else np.uint8

    def read_numpy(positions):
        rows = indices[positions]
        return (
            np.asarray(data.images.read(rows), dtype=image_dtype),
            data.texts[rows].astype(np.float32),
            data.labels[rows].astype(np.float32),
        )

    def read(positions):
        images, texts, labels = tf.numpy_function(
            read_numpy, [positions], [tf.as_dtype(image_dtype), tf.float32, tf.float32], name="read_paired_batch"
        )
        images.set_shape((None,) + image_shape)
        texts.set_shape((None, data.text_dim))
        labels.set_shape((None, data.num_labels))
        return images, texts, labels

    return read


def _ordered_batches(n: int, batch_size: int, read_batch, dtype, shape, name: str) -> tf.data.Dataset:
    """Batches of rows [start, start + batch_size) for start = 0, batch_size, ... (< n), in order."""

    def read(start):
        batch = tf.numpy_function(read_batch, [start], dtype, name=name)
        batch.set_shape(shape)
        return batch

    return tf.data.Dataset.range(0, n, batch_size).map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def image_batches(data: CrossModalData, indices, batch_size: int, prep: ImagePreprocessing | None) -> tf.data.Dataset:
    """float32 (b, crop, crop, 3) centre-cropped images of ``indices``, in that order (encoding);
    for data holding image features (``data.has_features``, ``prep`` None) float32 (b, d) rows."""
    indices = _checked_indices(data, indices)
    batch_size = _checked_batch_size(batch_size)
    if _feature_rows(data, prep):

        def read_rows(start):
            return np.asarray(data.images.read(indices[start:start + batch_size]), dtype=np.float32)

        rows = _ordered_batches(len(indices), batch_size, read_rows, tf.float32, (None,) + data.image_shape,
                                "read_feature_batch")
        return rows.prefetch(tf.data.AUTOTUNE)

    def read_batch(start):
        return np.asarray(data.images.read(indices[start:start + batch_size]), dtype=np.uint8)

    images = _ordered_batches(
        len(indices), batch_size, read_batch, tf.uint8, (None,) + tuple(data.images.shape[1:]), "read_image_batch"
    )
    return images.map(lambda x: preprocess_images(x, prep), num_parallel_calls=tf.data.AUTOTUNE,
                      deterministic=True).prefetch(tf.data.AUTOTUNE)


def text_batches(data: CrossModalData, indices, batch_size: int) -> tf.data.Dataset:
    """float32 (b, d) texts of ``indices``, in that order (encoding)."""
    indices = _checked_indices(data, indices)
    batch_size = _checked_batch_size(batch_size)

    def read_batch(start):
        return data.texts[indices[start:start + batch_size]].astype(np.float32)

    texts = _ordered_batches(len(indices), batch_size, read_batch, tf.float32, (None, data.text_dim),
                             "read_text_batch")
    return texts.prefetch(tf.data.AUTOTUNE)
