"""Build and solve IMH for one code length and seed (the ``Method`` functions).

``build`` gives random projections through the training means (the untrained score); ``fit``
centres the training features, solves IMH's eigenproblem (solver.py), thresholds each bit at its
training median, and records the solve as one epoch (``sdch_tf.training.closed_form.fit_solved``).
IMH reads no label.
"""
from __future__ import annotations

import numpy as np

from baselines.imh.config import IMHConfig
from baselines.imh.model import IMHHasher
from baselines.imh.nets import median_thresholded
from baselines.imh.solver import GRID, select_parameters, solve_imh
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.split import Split
from sdch_tf.training.closed_form import fit_solved, random_projections, training_arrays


def preprocessing(config: IMHConfig):
    """None: IMH reads image features, not pixels (``registry.Method.inputs``)."""
    return None


def build(config: IMHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> IMHHasher:
    return IMHHasher(bits, *random_projections(data, split, bits, seed))


def fit(hasher: IMHHasher, config: IMHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Solve IMH on the training pairs; one record: β and λ (chosen on held-out pairs unless fixed)
    with the held-out score, the objective with W
    eliminated at the solution, the first and last eigenvalue used, the fraction of training pairs'
    bits on which image and text codes agree, seconds."""
    # The labels choose β and λ only (select_parameters); the solution never reads them.
    images, texts, labels = training_arrays(data, split)
    image_mean, text_mean = images.mean(axis=0), texts.mean(axis=0)
    centred_images, centred_texts = images - image_mean, texts - text_mean

    def solve() -> dict:
        beta, lam, scores = config.beta, config.lam, {}
        if beta is None or lam is None:
            grid_beta = GRID if beta is None else (beta,)
            grid_lam = GRID if lam is None else (lam,)
            if verbose:
                print(f"Choosing IMH's β, λ on {config.held_out:.0%} held-out training pairs "
                      f"({len(grid_beta) * len(grid_lam)} settings)", flush=True)
            # Under --label-fraction only the labelled pairs' labels may be read: the choice is made among them.
            chosen = slice(None) if split.labelled is None else split.labelled
            beta, lam, scores = select_parameters(centred_images[chosen], centred_texts[chosen], labels[chosen],
                                                  hasher.bits,
                                                  config.neighbours,
                                                  config.skip_smallest, np.random.default_rng([seed, 11]),
                                                  held_out=config.held_out, grid_beta=grid_beta, grid_lam=grid_lam)
        if verbose:
            print(f"Solving IMH ({hasher.bits} bits) on {len(images)} training pairs: {config.neighbours}-NN graphs, "
                  f"β {beta:g}, λ {lam:g}", flush=True)
        solution = solve_imh(centred_images, centred_texts, hasher.bits, config.neighbours, beta, lam,
                             config.inter_weight, config.skip_smallest)
        hasher.image = median_thresholded(image_mean, solution["w1"], centred_images)
        hasher.text = median_thresholded(text_mean, solution["w2"], centred_texts)
        agreement = float((np.sign(hasher.image(images)) == np.sign(hasher.text(texts))).mean())
        return {"beta": beta, "lambda": lam, "validation_map": max(scores.values()) if scores else float("nan"),
                "objective": solution["objective"], "first_eigenvalue": solution["eigenvalues"][0],
                "last_eigenvalue": solution["eigenvalues"][-1], "pair_bit_agreement": agreement}

    return fit_solved(hasher, solve, run_dir, verbose)
