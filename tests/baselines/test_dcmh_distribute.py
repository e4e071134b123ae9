"""DCMH under --distribute: a mirrored run on two logical CPU devices trains like one device,
and the multi-epoch training dataset is the pre-distribution one, immune to peeking iterators
(the runs: tests/two_devices.py).
"""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from baselines.dcmh import METHOD, preset
from baselines.dcmh.model import IMAGE_STEP, TEXT_STEP
from baselines.dcmh.trainer import epoch_batches, preprocessing, steps_per_epoch
from sdch_tf.run import experiment
from sdch_tf.data.pipeline import train_batches
from tests import two_devices

SMOKE = preset("smoke")
# 91 training pairs in batches of 10: nine split 5 + 5 over two replicas and a last batch of 1
# (1 + 0: one replica's slice is empty), in both passes. Keras needs the first batch to split
# evenly: under a strategy it averages the first batch's replica slices to build the model.
NUM_TRAIN, BATCH = 91, 10

# Smoke preset, both epochs; dropout off (a replica's dropout mask cannot equal a slice of the
# one-device mask). Besides the codes: the buffers F and G and the codes B.
CONFIGURE = f"""
configs = {{"smoke": dataclasses.replace(base, batch_size={BATCH},
                                         data=dataclasses.replace(base.data, num_train={NUM_TRAIN}),
                                         image_net=dataclasses.replace(base.image_net, dropout=0.0))}}
"""
COLLECT = """
def collect(model, strategy, record, arrays):
    arrays.update(F=model.image_outputs.numpy(), G=model.text_outputs.numpy(), B=model.codes.numpy())
"""


@pytest.fixture(scope="module")
def two_device_runs(tmp_path_factory, onednn):
    logs, arrays = two_devices.run(tmp_path_factory.mktemp(f"dcmh_distribute-onednn{onednn}"),
                                   "dcmh", CONFIGURE, COLLECT, onednn=onednn)
    assert logs["smoke/none"]["train"] == NUM_TRAIN
    return logs, arrays


def test_the_mirrored_run_uses_both_devices(two_device_runs):
    two_devices.assert_both_devices_used(two_device_runs[0], "smoke")


def test_mirrored_losses_equal_single_device_losses(two_device_runs):
    logs, _ = two_device_runs
    single = logs["smoke/none"]["epochs"]
    assert all(one["image_loss"] > 0 and one["text_loss"] > 0 for one in single)  # both passes trained
    two_devices.assert_same_losses(single, logs["smoke/mirrored"]["epochs"], list(range(1, SMOKE.epochs + 1)),
                                   {"image_loss", "text_loss"})


def test_mirrored_buffers_and_codes_equal_single_device_ones(two_device_runs):
    _, arrays = two_device_runs
    single, mirrored = arrays["smoke/none"], arrays["smoke/mirrored"]
    # F and G hold every training row's last output: a row a replica failed to write would be 0.
    assert np.all(np.any(single["F"] != 0, axis=1)) and np.all(np.any(single["G"] != 0, axis=1))
    np.testing.assert_allclose(mirrored["F"], single["F"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mirrored["G"], single["G"], rtol=1e-4, atol=1e-5)
    two_devices.assert_same_codes(single, mirrored, two_devices.CODE_KEYS + ("B",))


def test_dcmh_is_registered_as_distributable():
    assert METHOD.distributable


# ---- the training dataset ----------------------------------------------------------------

@pytest.fixture(scope="module")
def smoke_data():
    data = experiment.load_data(SMOKE.data)
    return data, experiment.split_for(SMOKE.data, data, 0)


def counted_epochs(data, split, config, seed, start_epoch):
    """The implementation before --distribute (kept here as the reference): each iteration of the
    dataset is one epoch, counted by iterations; image pass from ``train_batches`` without
    ``stop_epoch``, then the text pass of a generator drawing np.random.default_rng([seed, e, 1])."""
    images = train_batches(data, split.train, config.batch_size, preprocessing(config), seed,
                           start_epoch=start_epoch)
    images = images.map(lambda batch: {**batch, "step": tf.fill(tf.shape(batch["index"]), IMAGE_STEP)})
    rows = np.asarray(split.train)
    texts, labels = np.asarray(data.texts[rows], np.float32), np.asarray(data.labels[rows], np.float32)
    epochs = itertools.count(start_epoch)
    size = config.image_net.input_size
    empty = np.zeros((0, size, size, 3), np.float32)

    def batches():
        order = np.random.default_rng([seed, next(epochs), 1]).permutation(len(rows)).astype(np.int32)
        for start in range(0, len(order), config.batch_size):
            index = order[start:start + config.batch_size]
            yield {"image": empty, "text": texts[index], "label": labels[index], "index": index,
                   "step": np.full(len(index), TEXT_STEP, np.int32)}

    spec = {"image": tf.TensorSpec((None, size, size, 3), tf.float32),
            "text": tf.TensorSpec((None, texts.shape[1]), tf.float32),
            "label": tf.TensorSpec((None, labels.shape[1]), tf.float32),
            "index": tf.TensorSpec((None,), tf.int32), "step": tf.TensorSpec((None,), tf.int32)}
    return images.concatenate(tf.data.Dataset.from_generator(batches, output_signature=spec))


def as_numpy(batches):
    return [{k: v.numpy() for k, v in batch.items()} for batch in batches]


@pytest.mark.parametrize("start", [0, 1])
def test_the_dataset_is_the_counted_one_even_after_a_peek(smoke_data, start):
    data, split = smoke_data
    seed, stop = 3, start + 2
    dataset = epoch_batches(data, split, SMOKE, seed, start_epoch=start, stop_epoch=stop)
    per_epoch = steps_per_epoch(len(split.train), SMOKE.batch_size)
    assert int(dataset.cardinality()) == per_epoch * 2
    next(iter(dataset))  # Keras peeks like this under a tf.distribute strategy, then trains on a new iterator
    got = as_numpy(dataset)
    reference = counted_epochs(data, split, SMOKE, seed, start)
    expected = as_numpy(reference) + as_numpy(reference)  # epochs start and start + 1
    assert len(got) == len(expected) == per_epoch * 2
    for position, (one, two) in enumerate(zip(got, expected)):
        assert set(one) == set(two)
        for key in one:
            np.testing.assert_array_equal(one[key], two[key], err_msg=f"batch {position}, {key}")
    # Per epoch: an image pass, then a text pass, each a permutation of the training rows.
    n = len(split.train)
    for epoch in range(2):
        part = got[epoch * per_epoch:(epoch + 1) * per_epoch]
        assert [int(b["step"][0]) for b in part] == [IMAGE_STEP] * (per_epoch // 2) + [TEXT_STEP] * (per_epoch // 2)
        text_order = np.concatenate([b["index"] for b in part[per_epoch // 2:]])
        np.testing.assert_array_equal(text_order,
                                      np.random.default_rng([seed, start + epoch, 1]).permutation(n))


def test_an_empty_epoch_range_is_refused(smoke_data):
    data, split = smoke_data
    with pytest.raises(ValueError, match="stop_epoch must exceed start_epoch, got 2 .. 2"):
        epoch_batches(data, split, SMOKE, 0, start_epoch=2, stop_epoch=2)
