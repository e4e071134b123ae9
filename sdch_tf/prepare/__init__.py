"""Dataset preparation: the official releases → the DCMH-style files ``--dataset`` reads.

``python -m sdch_tf.prepare <dataset> ... --out DIR`` plans (``<dataset>.plan``: items, labels,
texts, vocabulary, what is dropped and why) and then streams the images into the files
(``writer.write_prepared``), resumably. docs/data-preparation.md has each dataset's recipe.
"""
