"""How much the ImageNet stand-in transfers: a linear probe on frozen backbone features.

    python benchmarks/probe_standin.py                 # the committed stand-in files, every backbone
    python benchmarks/probe_standin.py --backbone alexnet --weights OUT/cpu/bvlc_alexnet.npy

On the synthetic retrieval set's `cpu` split (2,000 training and 500 query images, 24 concepts),
the features of each backbone at its `cpu` preset's shapes (AlexNet and CNN-F: fc7; ResNet-34:
the pooled last stage; centre crops, the method's own preprocessing) are extracted (a) with the
stand-in weights the `cpu` presets load and (b) from random initialisation; a ridge-regression probe per concept is fitted on the
training images and scored on the queries (mean AP over concepts), and so is image→image
retrieval by the cosine of the probe's outputs (mAP@500). The stand-in should land clearly above
the random features and the label prior and clearly below what fine-tuning reaches (docs/
reproduction.md §2.3). Prints the CPU it ran on.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from sdch_tf import pretrain, registry  # noqa: E402
from sdch_tf.configs import pretrained_weights  # noqa: E402
from sdch_tf.data.pipeline import image_batches  # noqa: E402
from sdch_tf.retrieval import metrics  # noqa: E402
from sdch_tf.run.experiment import device_description, load_data, split_for  # noqa: E402


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = relevant[order].astype(float)
    if hits.sum() == 0:
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def backbone_features(backbone: str, config, weights: str | None, data, parts: dict) -> dict:
    """Features of ``backbone`` built from the ``cpu`` preset ``config`` (its weights loaded when given)."""
    import dataclasses

    config = dataclasses.replace(config, weights=weights)
    prep = registry.get_method(pretrain.BACKBONES[backbone].method).preprocessing(config)
    net = pretrain.build_features(backbone, pretrain.image_config(backbone, "cpu"))
    if weights:
        pretrain.load_weights(backbone, net, weights)
    return {part: np.concatenate([np.asarray(net(batch, training=False)) for batch in image_batches(data, idx, 256, prep)])
            for part, idx in parts.items()}


def probe(train_x, train_y, query_x, query_y, db_x, db_y, ridge: float = 1.0) -> dict:
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a, q, d = ((x - mean) / std for x in (train_x, query_x, db_x))
    a1 = np.hstack([a, np.ones((len(a), 1))])
    w = np.linalg.solve(a1.T @ a1 + ridge * len(a) * np.eye(a1.shape[1]), a1.T @ (2 * train_y - 1))
    q_out, d_out = np.hstack([q, np.ones((len(q), 1))]) @ w, np.hstack([d, np.ones((len(d), 1))]) @ w
    aps = [average_precision(q_out[:, c], query_y[:, c]) for c in range(query_y.shape[1]) if query_y[:, c].any()]
    codes_q, codes_d = np.where(q_out >= 0, 1, -1).astype(np.int8), np.where(d_out >= 0, 1, -1).astype(np.int8)
    return {"concept_map": float(np.mean(aps)),
            "i2i_map500": float(metrics.mean_average_precision(codes_q, codes_d, query_y, db_y, top_k=500))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backbone", default="all", choices=(*pretrain.BACKBONES, "all"))
    p.add_argument("--weights", default=None, help="a weights file of the cpu size (default: the cpu preset's stand-in)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    backbones = tuple(pretrain.BACKBONES) if args.backbone == "all" else (args.backbone,)
    print(f"Device: {device_description()}")
    for backbone in backbones:
        config = registry.get_method(pretrain.BACKBONES[backbone].method).preset("cpu")
        data = load_data(config.data)
        split = split_for(config.data, data, args.seed)
        y = data.labels.astype(float)
        if backbone == backbones[0]:
            print(f"Label prior (mean AP of a constant score): {float(y[split.query].mean()):.3f}")
        weights = args.weights or pretrained_weights(config)
        parts = {part: getattr(split, part) for part in ("train", "query", "database")}
        for name, file in (("random init", None), ("stand-in", weights)):
            keras.utils.set_random_seed(args.seed)
            x = backbone_features(backbone, config, file, data, parts)
            result = probe(x["train"], y[split.train], x["query"], y[split.query], x["database"], y[split.database])
            print(f"{backbone:9} {name:12} linear probe: mean AP over concepts {result['concept_map']:.3f}, "
                  f"image→image mAP@500 of its signs {result['i2i_map500']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
