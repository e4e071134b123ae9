"""The protocol split (docs/reproduction.md §2): sizes, disjointness, train ⊂ database prefix, seeding."""
import numpy as np
import pytest

from sdch_tf.data.split import PROTOCOL_SIZES, make_split


def test_protocol_sizes_are_the_dcmh_ones():
    assert PROTOCOL_SIZES["mirflickr"] == (2000, 10000)
    assert PROTOCOL_SIZES["iapr"] == (2000, 10000)
    assert PROTOCOL_SIZES["nuswide"] == (2100, 10500)
    assert PROTOCOL_SIZES["nuswide-tc10"] == (2100, 10500)


def test_sizes_and_dtypes():
    split = make_split(50, num_query=7, num_train=20, seed=3)
    assert split.sizes() == {"query": 7, "database": 43, "train": 20}
    assert split.seed == 3
    for part in (split.query, split.database, split.train):
        assert part.dtype == np.int64


def test_query_and_database_partition_all_samples():
    split = make_split(50, num_query=7, num_train=20, seed=3)
    assert len(np.intersect1d(split.query, split.database)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([split.query, split.database])), np.arange(50))


def test_train_is_the_database_prefix():
    split = make_split(50, num_query=7, num_train=20, seed=3)
    np.testing.assert_array_equal(split.train, split.database[:20])
    assert len(np.intersect1d(split.train, split.query)) == 0


def test_is_the_seeded_permutation():
    # Plain-numpy transcription: queries are the first entries of the seeded permutation.
    perm = np.random.default_rng(11).permutation(30)
    split = make_split(30, num_query=5, num_train=10, seed=11)
    np.testing.assert_array_equal(split.query, perm[:5])
    np.testing.assert_array_equal(split.database, perm[5:])
    np.testing.assert_array_equal(split.train, perm[5:15])


def test_same_seed_same_split_other_seed_other_split():
    a = make_split(100, 10, 40, seed=0)
    b = make_split(100, 10, 40, seed=0)
    c = make_split(100, 10, 40, seed=1)
    np.testing.assert_array_equal(a.query, b.query)
    np.testing.assert_array_equal(a.database, b.database)
    assert not np.array_equal(a.query, c.query)


def test_whole_database_may_be_the_training_set():
    split = make_split(10, num_query=3, num_train=7, seed=0)
    np.testing.assert_array_equal(split.train, split.database)


@pytest.mark.parametrize(
    "n, q, t, match",
    [
        (10, 0, 5, "positive"),
        (10, 3, 0, "positive"),
        (10, 10, 1, "leaves no database"),
        (10, 12, 1, "leaves no database"),
        (10, 3, 8, "exceeds the database size 7"),
    ],
)
def test_bad_sizes_are_rejected(n, q, t, match):
    with pytest.raises(ValueError, match=match):
        make_split(n, num_query=q, num_train=t, seed=0)


def test_label_fraction_marks_a_seeded_subset_and_leaves_the_split_unchanged():
    full = make_split(50, num_query=7, num_train=20, seed=3)
    part = make_split(50, num_query=7, num_train=20, seed=3, label_fraction=0.3)
    for name in ("query", "database", "train"):
        np.testing.assert_array_equal(getattr(full, name), getattr(part, name))
    assert full.labelled is None
    assert part.labelled.dtype == bool and part.labelled.shape == (20,) and part.labelled.sum() == 6
    again = make_split(50, num_query=7, num_train=20, seed=3, label_fraction=0.3)
    np.testing.assert_array_equal(part.labelled, again.labelled)
    other = make_split(50, num_query=7, num_train=20, seed=4, label_fraction=0.3)
    assert not np.array_equal(np.flatnonzero(part.labelled), np.flatnonzero(other.labelled))
    assert part.sizes() == {"query": 7, "database": 43, "train": 20, "labelled_train": 6}


def test_labelled_only_keeps_the_labelled_training_items_in_order():
    split = make_split(50, num_query=7, num_train=20, seed=3, label_fraction=0.3)
    supervised = split.labelled_only()
    np.testing.assert_array_equal(supervised.train, split.train[split.labelled])
    np.testing.assert_array_equal(supervised.database, split.database)
    assert supervised.labelled is None and supervised.sizes()["train"] == 6
    full = make_split(50, num_query=7, num_train=20, seed=3)
    assert full.labelled_only() is full


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_label_fraction_outside_0_1_is_rejected(fraction):
    with pytest.raises(ValueError, match="label_fraction"):
        make_split(50, num_query=7, num_train=20, seed=3, label_fraction=fraction)
