"""Build and solve SCM for one code length and seed (the ``Method`` functions).

``build`` gives random projections through the training means (the untrained score);
``fit`` centres the training features, solves SCM-seq or SCM-orth (solver.py) and records the
solve as one epoch with its statistics (``sdch_tf.training.closed_form.fit_solved``).
"""
from __future__ import annotations


from baselines.scm.config import SCMConfig
from baselines.scm.losses import scm_objective
from baselines.scm.model import SCMHasher
from baselines.scm.solver import solve_orth, solve_seq
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.split import Split
from sdch_tf.training.closed_form import LinearProjection, fit_solved, random_projections, signs, training_arrays

VARIANTS = ("seq", "orth")
MODALITIES = ("text", "image")


def preprocessing(config: SCMConfig):
    """None: SCM reads image features, not pixels (``registry.Method.inputs``)."""
    return None


def check_config(config: SCMConfig) -> None:
    if config.variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {config.variant!r}")
    if config.x_modality not in MODALITIES:
        raise ValueError(f"x_modality must be one of {MODALITIES}, got {config.x_modality!r}")


def build(config: SCMConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> SCMHasher:
    check_config(config)
    return SCMHasher(bits, *random_projections(data, split, bits, seed))


def fit(hasher: SCMHasher, config: SCMConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Solve SCM on the training items; one record: the objective per pair before and after
    (``losses.scm_objective``), the sequential bits, the first and last eigenvalue, seconds.
    ``observers`` (the learning curve's callbacks) have no epochs to watch here."""
    images, texts, labels = training_arrays(data, split)
    image_mean, text_mean = images.mean(axis=0), texts.mean(axis=0)
    centred_images, centred_texts = images - image_mean, texts - text_mean
    bits = hasher.bits
    x, y = (centred_texts, centred_images) if config.x_modality == "text" else (centred_images, centred_texts)

    def solve() -> dict:
        before = scm_objective(signs(hasher.image(images)), signs(hasher.text(texts)), labels)
        if verbose:
            print(f"Solving SCM-{config.variant} ({bits} bits) on {len(labels)} training pairs: x = {config.x_modality} "
                  f"({x.shape[1]}-d), y = {'image' if config.x_modality == 'text' else 'text'} ({y.shape[1]}-d)")
        if config.variant == "seq":
            solution = solve_seq(x, y, labels, bits, config.ridge)
        else:
            solution = solve_orth(x, y, labels, bits, config.ridge)
        w_text, w_image = ((solution["w_x"], solution["w_y"]) if config.x_modality == "text"
                           else (solution["w_y"], solution["w_x"]))
        hasher.image = LinearProjection(image_mean, w_image)
        hasher.text = LinearProjection(text_mean, w_text)
        after = scm_objective(signs(hasher.image(images)), signs(hasher.text(texts)), labels)
        mu = solution["eigenvalues"]
        return {"objective_before": before, "objective": after, "sequential_bits": solution["sequential_bits"],
                "first_eigenvalue": mu[0] if len(mu) else float("nan"),
                "last_eigenvalue": mu[-1] if len(mu) else float("nan")}

    return fit_solved(hasher, solve, run_dir, verbose)
