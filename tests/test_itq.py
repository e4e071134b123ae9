import numpy as np
import pytest

from sdch_tf.training.itq import centre_per_group, itq, sign


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    # Anisotropic clusters, as the z of a half-trained network would be.
    centres = rng.normal(scale=3.0, size=(5, 16))
    return centres[rng.integers(0, 5, 400)] + rng.normal(size=(400, 16)) * np.linspace(0.2, 2.0, 16)


def test_sign_maps_zero_to_plus_one():
    np.testing.assert_array_equal(sign(np.array([-2.0, -0.0, 0.0, 1e-9])), [-1, 1, 1, 1])
    assert sign(np.zeros(3)).dtype == np.int8


def test_rotation_is_orthogonal(data):
    result = itq(data, bits=8, iterations=50, seed=0)
    np.testing.assert_allclose(result.rotation @ result.rotation.T, np.eye(8), atol=1e-10)
    np.testing.assert_allclose(result.projection.T @ result.projection, np.eye(8), atol=1e-10)


def test_quantisation_loss_never_increases(data):
    losses = itq(data, bits=8, iterations=50, seed=0).losses
    assert len(losses) == 50
    assert np.all(np.diff(losses) <= 1e-9 * losses[0])
    assert losses[-1] < losses[0]  # the rotation does improve on the random start


def test_codes_are_binary_and_reproducible(data):
    a = itq(data, bits=16, iterations=5, seed=3)
    b = itq(data, bits=16, iterations=5, seed=3)
    assert a.codes.shape == (400, 16) and a.codes.dtype == np.int8
    assert set(np.unique(a.codes)) <= {-1, 1}
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.encode(data), a.codes)


def test_procrustes_step_is_optimal(data):
    # After an update R = Vh.T @ U.T, no other orthogonal matrix gives a larger tr(Bᵀ V R).
    result = itq(data, bits=4, iterations=1, seed=0)
    v = (data - result.mean) @ result.projection
    rng = np.random.default_rng(0)
    r0, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))
    b = sign(v @ r0).astype(float)
    best = np.trace(b.T @ v @ result.rotation)
    for _ in range(200):
        q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
        assert np.trace(b.T @ v @ q) <= best + 1e-9


def test_rejects_too_few_dimensions():
    with pytest.raises(ValueError, match="d >= bits"):
        itq(np.zeros((10, 4)), bits=8)


def test_centre_per_group_centres_each_group_on_its_own_mean():
    x = np.array([[1.0, 2.0], [3.0, 6.0], [10.0, 10.0], [20.0, 30.0], [30.0, 20.0]])
    groups = np.array([0, 0, 1, 1, 1])
    want = np.array([[-1.0, -2.0], [1.0, 2.0], [-10.0, -10.0], [0.0, 10.0], [10.0, 0.0]])
    np.testing.assert_allclose(centre_per_group(x, groups), want)
    np.testing.assert_array_equal(x[0], [1.0, 2.0])  # the input is not modified
    with pytest.raises(ValueError, match=r"groups must have shape \(5,\)"):
        centre_per_group(x, groups[:4])


def test_per_group_centring_removes_the_gap_that_joint_itq_follows():
    # Two clouds far apart along dimension 0: joint centring makes that gap the first principal
    # direction, so the first bit only says which cloud a row is in.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)) * [0.3, 1.0, 1.0, 1.0]
    x[100:, 0] += 8.0
    groups = np.repeat([0, 1], 100)
    joint = itq(x, 2, iterations=20, seed=0)
    assert abs(joint.projection[0, 0]) > 0.99
    per_group = itq(centre_per_group(x, groups), 2, iterations=20, seed=0)
    assert abs(per_group.projection[0, 0]) < 0.2
