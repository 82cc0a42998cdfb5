"""calip3d: zero-shot 3D point-cloud classification with CLIP and CALIP's attention.

The computation is calip3d's Rust library, in-process; these are thin bindings::

    import numpy as np
    import calip3d

    classifier = calip3d.Classifier(model="openai/clip-vit-base-patch32")
    points = np.load("object.npy")                       # (N, 3) float32 or float64
    result = classifier.classify(points, ["chair", "table", "lamp"])
    print(result["top"][0])                              # {'class': ..., 'probability': ...}

Results are plain dicts with the fields of ``calip3d classify --json``: ``file``, ``classes``,
``logits``, ``probabilities``, ``top``, ``projection``, ``model``, ``timings_ms``.
Errors are :class:`Calip3dError` (and its subclasses :class:`LoadError`, :class:`ClassesError`)
with calip3d's own messages. ``python -m calip3d.ray`` runs batches on a Ray cluster.
"""

from ._native import (
    CLOUD_EXTENSIONS,
    DEFAULT_MODEL,
    Calip3dError,
    ClassesError,
    Classifier,
    LoadError,
    __version__,
    check_settings,
    expand_inputs,
    resolve_classes,
)

__all__ = [
    "CLOUD_EXTENSIONS",
    "DEFAULT_MODEL",
    "Calip3dError",
    "ClassesError",
    "Classifier",
    "LoadError",
    "__version__",
    "check_settings",
    "expand_inputs",
    "resolve_classes",
]
