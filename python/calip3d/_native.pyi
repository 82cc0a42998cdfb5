"""Type stubs of calip3d's native module (the Rust library through PyO3)."""

import os
from typing import Any, Literal, Optional, Sequence, TypedDict, Union

import numpy as np
import numpy.typing as npt

__version__: str
DEFAULT_MODEL: str
"""The model used when none is named: ``openai/clip-vit-base-patch32`` on the Hugging Face Hub."""
CLOUD_EXTENSIONS: list[str]
"""Extensions (lower case) that folders are searched for: ply, las, laz, off, obj, stl."""

StrPath = Union[str, os.PathLike[str]]
Classes = Union[str, os.PathLike[str], Sequence[str]]
"""A list of names, a comma-separated string ``"chair,table"``, a classes file (one class per line,
``#`` comments, ``name: prompt one | prompt two``) or a built-in list name (``modelnet40``,
``modelnet10``, ``scanobjectnn``): the values of ``calip3d --classes``."""
Points = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]
"""A numpy array of shape ``(N, 3)``: x, y, z of each point."""

class Timings(TypedDict):
    """Milliseconds per stage; batched stages are shared out between the clouds of the batch."""

    load: float
    project: float
    encode: float
    attend: float

class Result(TypedDict):
    """The ``calip3d classify --json`` object of one cloud."""

    file: Optional[str]
    """The file read, or None for points given in memory."""
    classes: list[str]
    logits: list[float]
    """Aggregated CALIP logits, one per class (METHOD.md §6)."""
    probabilities: list[float]
    """``softmax(logits)``."""
    top: list[dict[str, Any]]
    """The ``top_k`` most probable classes, ``{"class": name, "probability": p}``, best first."""
    projection: str
    model: str
    timings_ms: Timings

class Record(TypedDict, total=False):
    """One line of ``calip3d batch``'s JSONL results: a :class:`Result` plus ``ok: True``, or
    ``{"file", "ok": False, "error"}``."""

    file: str
    ok: bool
    error: str
    classes: list[str]
    logits: list[float]
    probabilities: list[float]
    top: list[dict[str, Any]]
    projection: str
    model: str
    timings_ms: Timings

class Calip3dError(RuntimeError):
    """An error of the calip3d pipeline; the message is calip3d's (it names the file and the problem)."""

class LoadError(Calip3dError):
    """A point-cloud file could not be read (missing, truncated, not the format it claims, no points)."""

class ClassesError(Calip3dError):
    """The class list is invalid: an empty or duplicate name, a missing classes file, a bad template."""

class Classifier:
    """Zero-shot point-cloud classifier: projection → CLIP → CALIP attention → view aggregation.

    Build it once (it loads the CLIP model) and call it many times, from any thread: it computes
    with the GIL released. Each distinct ``classes`` value is encoded once and cached in the object.

    Args:
        model: a local folder in the Hugging Face layout (config.json, model.safetensors,
            tokenizer.json) or a Hub repo id (downloaded once into ~/.cache/huggingface).
        projection: ``"realistic"`` (PointCLIP V2's 10 views) or ``"pointclip"`` (6 views).
        device: where to project: ``"auto"`` (a hardware GPU through Vulkan if there is one),
            ``"cpu"`` or ``"gpu"``.
        max_points: points kept per cloud (a deterministic subsample; 0 keeps all).
        precision: the vision tower's arithmetic: ``"f32"`` (default), ``"bf16"`` (AVX512-BF16 where
            the CPU has it, else f32) or ``"int8"`` (AVX2 or AVX-512, else f32), as ``--precision``.
        profile: a tuning profile file from ``calip3d tune``; explicit arguments override it.
        adapter: a few-shot adapter file from ``calip3d fit``.
        up_axis: up axis of files read by :meth:`classify_file` / :meth:`classify_files`
            (default: z for LAS/LAZ, y otherwise).
        alpha: CALIP's attention temperature (α_s = α_t; default 0.5).
        beta2: weight of the visually guided text term (default 1.12).
        beta3: weight of the text-aware visual term (default 0.02).
        baseline: plain CLIP (β2 = β3 = 0) instead of CALIP.
        view_weights: per-view weights of the logit average (default all 1).
        templates: prompt templates with ``{}`` for the class name (default: the projection's).
        normalize: apply CLIP's mean/std normalisation to the depth maps.
        top_k: classes listed in each result's ``top`` (default 5).

    Raises:
        Calip3dError: the model cannot be loaded, or a setting cannot work.
        ValueError: an unknown projection, device or up axis.
    """

    def __init__(
        self,
        model: Optional[StrPath] = None,
        projection: Literal["realistic", "pointclip"] = "realistic",
        device: Literal["auto", "cpu", "gpu"] = "auto",
        max_points: int = 1024,
        precision: Optional[str] = None,
        profile: Optional[StrPath] = None,
        adapter: Optional[StrPath] = None,
        *,
        up_axis: Optional[Literal["y", "z"]] = None,
        alpha: Optional[float] = None,
        beta2: Optional[float] = None,
        beta3: Optional[float] = None,
        baseline: bool = False,
        view_weights: Optional[Sequence[float]] = None,
        templates: Optional[Sequence[str]] = None,
        normalize: bool = False,
        top_k: int = 5,
        allow_test_search: bool = False,
    ) -> None: ...
    @property
    def model(self) -> str:
        """The model's identity: the Hub repo id or the folder it was loaded from."""
    @property
    def projection(self) -> str:
        """``"realistic"`` or ``"pointclip"``."""
    @property
    def device(self) -> str:
        """Where clouds are projected: ``"cpu"`` or ``"gpu: <adapter>"``."""
    @property
    def max_points(self) -> int:
        """Points kept per cloud (0 = all)."""
    @property
    def views(self) -> int:
        """Views rendered per cloud."""
    def class_names(self, classes: Classes) -> list[str]:
        """The class names ``classes`` resolves to, in order (encodes and caches them)."""
    def classify(
        self,
        points: Points,
        classes: Classes,
        up_axis: Literal["y", "z"] = "y",
        *,
        top_k: Optional[int] = None,
    ) -> Result:
        """Classifies one cloud held in memory.

        ``points`` is read in place (no numpy copy); it is re-centred in float64 and converted to
        float32 exactly as the file readers do, so a file and an array of the same points give the
        same logits. Non-finite points are dropped.

        Raises:
            TypeError: ``points`` is not a float32/float64 numpy array.
            ValueError: its shape is not ``(N, 3)``.
            LoadError: no finite point.
            ClassesError: an invalid class list.
        """
    def classify_many(
        self,
        points: Sequence[Points],
        classes: Classes,
        up_axis: Literal["y", "z"] = "y",
        *,
        top_k: Optional[int] = None,
    ) -> list[Result]:
        """Classifies several clouds in memory in one batched computation, one result per cloud."""
    def classify_file(
        self, path: StrPath, classes: Classes, *, top_k: Optional[int] = None
    ) -> Result:
        """Reads and classifies one file (PLY, LAS/LAZ/COPC, OFF, OBJ, STL).

        Raises:
            LoadError: the file cannot be read; the message names the file and the problem.
        """
    def classify_files(
        self,
        paths: Sequence[StrPath],
        classes: Classes,
        *,
        jobs: Optional[int] = None,
        views_per_encode: Optional[int] = None,
        top_k: Optional[int] = None,
    ) -> list[Record]:
        """Classifies many files with calip3d's batch pipeline, one record per path, in order.

        ``jobs`` threads read and project while views of several files are encoded together. A
        bad file does not raise: its record is ``{"file", "ok": False, "error"}``.
        """
    def scene(
        self,
        source: Union[StrPath, Points],
        classes: Classes,
        *,
        up_axis: Optional[Literal["y", "z"]] = None,
        ground: Literal["auto", "classified", "smrf", "plane", "none"] = "auto",
        cluster: Literal["euclidean", "dbscan"] = "euclidean",
        radius: Optional[float] = None,
        min_points: Optional[int] = None,
        max_object_points: Optional[int] = None,
        top_k: Optional[int] = None,
    ) -> dict[str, Any]:
        """Finds the objects of a scene (ground, then clusters) and classifies each, as
        ``calip3d scene``. ``source`` is a file (read with every point) or an (N, 3) array.

        Returns the fields of a ``calip3d batch --scene`` summary record (``file``, ``points``,
        ``ground_points``, ``noise_points``, ``other_points``, ``ground``, ``cluster``,
        ``timings_ms``), ``objects`` (a list of its object records) and per point, as numpy
        arrays, ``roles`` (uint8: 0 other, 1 ground, 2 noise), ``cluster_ids`` (uint32, 0 = no
        object), ``labels`` (uint16, 1 + class index, 0 = no object) and, for a file,
        ``source_index`` (uint64, each point's index in the file).

        Raises:
            LoadError: the file cannot be read.
            ValueError: an unknown ground or cluster method.
        """

def expand_inputs(inputs: Union[StrPath, Sequence[StrPath]]) -> list[str]:
    """The point-cloud files of batch inputs, as ``calip3d batch`` expands them: files as given,
    folders searched recursively by extension, glob patterns; sorted, without duplicates.

    Raises:
        Calip3dError: an input that does not exist, a bad pattern, a pattern matching nothing.
    """

def resolve_classes(
    classes: Classes,
    projection: Literal["realistic", "pointclip"] = "realistic",
    templates: Optional[Sequence[str]] = None,
) -> list[tuple[str, list[str]]]:
    """The classes as ``(name, prompts)`` pairs, resolved as :class:`Classifier` does, without a model.

    Raises:
        ClassesError: an invalid class list.
    """

def check_settings(
    precision: Optional[str] = None,
    profile: Optional[StrPath] = None,
    adapter: Optional[StrPath] = None,
    allow_test_search: bool = False,
) -> None:
    """Checks ``precision``, ``profile`` and ``adapter`` as :class:`Classifier` would, without a
    model, so that a bad setting fails before any work starts.

    Raises:
        ValueError: an unknown precision.
        Calip3dError: a profile or adapter file that is missing or invalid (the message names it),
            or one chosen on the test split without ``allow_test_search`` (the CLI's message).
    """
