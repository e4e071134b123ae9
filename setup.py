"""Installs sdch_tf: SDCH (Yan et al., Neurocomputing 2019) and its baselines in TensorFlow 2 / Keras 3."""
from setuptools import find_packages, setup

setup(
    name="sdch_tf",
    version="0.1.0",
    description="Cross-modal Hashing with Semantic Deep Embedding (SDCH) in TensorFlow/Keras, with baselines",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["sdch_tf", "sdch_tf.*", "baselines", "baselines.*"]),
    # The ImageNet stand-in's weights the cpu and smoke presets load (sdch_tf.configs.STANDIN_DIR).
    package_data={"sdch_tf": ["weights/standin/*/*.npy", "weights/standin/*/*.mat", "weights/standin/*/*.npz",
                              "weights/standin/*/*.json",
                              # The English stop words of the IAPR and COCO preparations (sdch_tf.prepare.text).
                              "prepare/stop_words_english.txt"]},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "numpy>=2.0",  # np.bitwise_count (sdch_tf.retrieval.metrics)
        "scipy",
        "h5py",
        "libsvm-official",
        "matplotlib",
        # Decodes the releases' images in `python -m sdch_tf.prepare` and image queries in
        # `python -m sdch_tf.search` (already a dependency of matplotlib; named because we call it).
        "pillow",
        # tf.summary's scalars: every run's TensorBoard log, <run dir>/tensorboard (sdch_tf.run.tensorboard_log);
        # without it runs still train, without logs.
        "tensorboard",
    ],
    # faiss: the optional FAISS scans of sdch_tf.search.scan (faiss-*); in "test" too, so their tests run.
    extras_require={"test": ["pytest", "faiss-cpu"], "faiss": ["faiss-cpu"]},
    entry_points={"console_scripts": ["sdch-train=sdch_tf.train:main"]},
)
