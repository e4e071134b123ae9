"""The shared evaluator: which codes go against which, and what it records."""
import numpy as np
import pytest

from sdch_tf.retrieval import evaluation, metrics
from sdch_tf.data import ArrayImages, CrossModalData, ImagePreprocessing, make_split


class LabelHasher:
    """Codes that copy the first label bits (images) or are the negation for texts of odd samples."""

    bits = 4

    def encode_image(self, images, batch_size=256):
        # The test images carry their label pattern in pixel (0, 0, channel 0) as an integer.
        pattern = np.asarray(images)[:, 0, 0, 0].astype(int)
        return np.where((pattern[:, None] >> np.arange(4)) & 1, 1, -1).astype(np.int8)

    def encode_text(self, texts, batch_size=256):
        return np.where(np.asarray(texts)[:, :4] > 0, 1, -1).astype(np.int8)


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    labels = (rng.random((30, 4)) < 0.4).astype(np.uint8)
    labels[labels.sum(1) == 0, 0] = 1
    pattern = (labels * (1 << np.arange(4))).sum(1)
    images = np.zeros((30, 8, 8, 3), np.uint8)
    images[:, :, :, 0] = pattern[:, None, None]
    texts = np.concatenate([labels, rng.random((30, 3))], axis=1).astype(np.float32)
    return CrossModalData("tiny", ArrayImages(images), texts, labels)


def test_evaluate_scores_images_against_texts_and_back(tiny):
    split = make_split(30, 6, 10, seed=1)
    prep = ImagePreprocessing(resize=8, crop=8)  # no mean, no BGR: pixel values pass through
    out = evaluation.evaluate(LabelHasher(), tiny, split, prep, top_k=500, batch_size=7)
    codes = lambda labels: np.where(labels > 0, 1, -1)
    q, db = tiny.labels[split.query], tiny.labels[split.database]
    expected = metrics.mean_average_precision(codes(q), codes(db), q, db)
    assert out["map_i2t"] == pytest.approx(expected) and out["map_t2i"] == pytest.approx(expected)
    assert set(out["curves"]) == {"pr_i2t", "pr_t2i", "ptop_i2t", "ptop_t2i"}
    assert out["curves"]["ptop_i2t"]["k"] == [1]          # the other cut-offs exceed the 24-item database
    assert len(out["curves"]["pr_t2i"]["precision"]) == 5  # radii 0..4
    assert out["timing"]["encode_ms_per_image"] > 0 and out["timing"]["encode_ms_per_text"] > 0


def test_score_uses_query_images_against_database_texts(tiny):
    split = make_split(30, 6, 10, seed=1)
    n_q, n_db = len(split.query), len(split.database)
    codes = {
        "query_image": np.ones((n_q, 4), np.int8), "db_text": np.ones((n_db, 4), np.int8),
        "query_text": -np.ones((n_q, 4), np.int8), "db_image": np.ones((n_db, 4), np.int8),
    }
    # I→T: every text at distance 0; T→I: every image at distance 4. Both rank by index only,
    # so both equal the mAP of the database order.
    out = evaluation.score(codes, tiny, split, curves=False)
    q, db = tiny.labels[split.query], tiny.labels[split.database]
    expected = metrics.mean_average_precision(codes["query_image"], codes["db_text"], q, db)
    assert out["map_i2t"] == pytest.approx(expected) and out["map_t2i"] == pytest.approx(expected)
    assert "curves" not in out


def test_score_records_the_whole_database_map_beside_map_at_k(tiny):
    from tests.test_metrics import reference_map

    split = make_split(30, 6, 10, seed=1)
    rng = np.random.default_rng(3)
    codes = {key: np.where(rng.random((len(split.query if key.startswith("query") else split.database), 4)) > 0.5,
                           1, -1).astype(np.int8)
             for key in ("query_image", "query_text", "db_image", "db_text")}
    q, db = tiny.labels[split.query], tiny.labels[split.database]
    out = evaluation.score(codes, tiny, split, top_k=5, curves=False)
    # The plain per-query stable-argsort reference, over the whole database and over the top 5.
    assert out["map_all_i2t"] == pytest.approx(reference_map(codes["query_image"], codes["db_text"], q, db))
    assert out["map_all_t2i"] == pytest.approx(reference_map(codes["query_text"], codes["db_image"], q, db))
    assert out["map_i2t"] == pytest.approx(reference_map(codes["query_image"], codes["db_text"], q, db, top_k=5))
    assert out["map_all_i2t"] != pytest.approx(out["map_i2t"])  # the fixture tells the two apart
