"""Batch classification on a Ray cluster: ``python -m calip3d.ray INPUT... --classes C --out R.parquet``.

The inputs are expanded as ``calip3d batch`` expands them (files, folders searched recursively by
extension, glob patterns), on the driver. Ray Data then sends batches of paths to a pool of
actors, each holding one :class:`calip3d.Classifier` (the model is loaded once per actor), which
runs calip3d's own batch pipeline on them. The rows stream back to the driver into one Parquet
file, written to a temporary file beside it and renamed when complete.

One row per file, with the fields of ``calip3d batch``'s JSONL records: ``file``, ``ok``, ``error``
(null when ok), ``classes``, ``logits``, ``probabilities``, ``top`` (list of ``{class,
probability}``), ``projection``, ``model``, ``timings_ms`` (``{load, project, encode, attend}``);
a file that failed has ``ok = false``, its ``error`` and nulls elsewhere.

With ``--scene``, each file is a scene (``Classifier.scene``: ground, then clusters, each object
classified): one row per object (``record = "object"``: ``cluster_id``, ``points``, ``centroid``,
``bbox_min``, ``bbox_max`` in file coordinates, ``class``, ``probability``, ``top``, ``classes``,
``logits``), then one summary row per file (``record = "summary"``: ``points``, ``ground_points``,
``noise_points``, ``objects``, ``ground``; or ``ok = false`` and ``error``), as the records of
``calip3d batch --scene``.

Without ``--address`` (or ``RAY_ADDRESS``), a local Ray cluster is started for the run. On an
existing cluster every node needs calip3d installed and must see the input paths (shared storage)
and the model (a path on every node, or a Hub id with network access).

Exit status: 0 when every file was classified, 2 when some failed, 1 on a setup error.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from typing import Any, Optional, Sequence

__all__ = [
    "main",
    "parse_args",
    "results_schema",
    "records_to_table",
    "run",
    "scene_rows",
    "scene_schema",
]


def results_schema():
    """The Arrow schema of the results: one row per file."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("file", pa.string(), nullable=False),
            pa.field("ok", pa.bool_(), nullable=False),
            pa.field("error", pa.string()),
            pa.field("classes", pa.list_(pa.string())),
            # calip3d computes in f32: float32 holds every value exactly.
            pa.field("logits", pa.list_(pa.float32())),
            pa.field("probabilities", pa.list_(pa.float32())),
            pa.field(
                "top",
                pa.list_(pa.struct([("class", pa.string()), ("probability", pa.float32())])),
            ),
            pa.field("projection", pa.string()),
            pa.field("model", pa.string()),
            # Set when a profile or adapter chosen on the test split made the row.
            pa.field("stamp", pa.string()),
            pa.field(
                "timings_ms",
                pa.struct([(k, pa.float64()) for k in ("load", "project", "encode", "attend")]),
            ),
        ]
    )


def scene_schema():
    """The Arrow schema of ``--scene`` results: one row per object, then one summary row per file
    (the records of ``calip3d batch --scene``, with ``bbox`` as ``bbox_min``/``bbox_max``)."""
    import pyarrow as pa

    coords = pa.list_(pa.float64(), 3)
    return pa.schema(
        [
            pa.field("record", pa.string(), nullable=False),  # "object" or "summary"
            pa.field("file", pa.string(), nullable=False),
            pa.field("ok", pa.bool_(), nullable=False),
            pa.field("error", pa.string()),
            pa.field("cluster_id", pa.uint32()),
            pa.field("points", pa.uint64()),
            pa.field("centroid", coords),
            pa.field("bbox_min", coords),
            pa.field("bbox_max", coords),
            pa.field("class", pa.string()),
            pa.field("probability", pa.float32()),
            pa.field(
                "top",
                pa.list_(pa.struct([("class", pa.string()), ("probability", pa.float32())])),
            ),
            pa.field("classes", pa.list_(pa.string())),
            pa.field("logits", pa.list_(pa.float32())),
            # Summary rows.
            pa.field("objects", pa.uint64()),
            pa.field("ground_points", pa.uint64()),
            pa.field("noise_points", pa.uint64()),
            pa.field("ground", pa.string()),
            pa.field("stamp", pa.string()),
        ]
    )


def scene_rows(file: str, scene: Optional[dict], error: Optional[str] = None) -> list[dict]:
    """The rows of one file's scene (``Classifier.scene``), or its failed summary row."""
    if scene is None:
        return [{"record": "summary", "file": file, "ok": False, "error": error}]
    rows = []
    for o in scene["objects"]:
        row = {k: v for k, v in o.items() if k != "bbox"}
        row.update(record="object", ok=True, bbox_min=o["bbox"]["min"], bbox_max=o["bbox"]["max"])
        rows.append(row)
    summary = {k: scene[k] for k in ("points", "ground_points", "noise_points", "ground")}
    summary.update(record="summary", file=file, ok=True, objects=len(scene["objects"]))
    return rows + [summary]


def records_to_table(records: Sequence[dict], schema=None):
    """An Arrow table of records (``Classifier.classify_files``'s, or :func:`scene_rows`'), in
    ``schema`` (default: :func:`results_schema`)."""
    import pyarrow as pa

    schema = schema or results_schema()
    rows = [{name: r.get(name) for name in schema.names} for r in records]
    return pa.Table.from_pylist(rows, schema=schema)


class _ClassifyFiles:
    """A Ray Data actor: one Classifier, applied to batches of paths."""

    def __init__(
        self,
        settings: dict,
        classes: Any,
        cwd: Optional[str],
        jobs: int,
        threads: int,
        scene: Optional[dict] = None,
    ):
        # Relative inputs are relative to the driver's folder; use it where this node has it.
        if cwd and os.path.isdir(cwd):
            os.chdir(cwd)
        # The encoder's thread pool starts on first use: size it to this actor's CPUs, not the node's.
        os.environ.setdefault("RAYON_NUM_THREADS", str(max(1, threads)))
        import calip3d

        self.classifier = calip3d.Classifier(**settings)
        self.classes = classes
        self.jobs = jobs
        self.scene = scene
        # Encode the class prompts once, now, so that a bad list fails at start-up.
        self.classifier.class_names(classes)

    def __call__(self, batch):
        import calip3d

        files = batch["file"].to_pylist()
        if self.scene is None:
            records = self.classifier.classify_files(files, self.classes, jobs=self.jobs)
            return records_to_table(records)
        rows = []
        for f in files:
            try:
                scene = self.classifier.scene(f, self.classes, **self.scene)
                rows += scene_rows(f, scene)
            except (calip3d.Calip3dError, ValueError) as e:
                # One bad file is a failed summary row; the others go on.
                rows += scene_rows(f, None, str(e))
        return records_to_table(rows, scene_schema())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of ``python -m calip3d.ray``."""
    import calip3d

    p = argparse.ArgumentParser(
        prog="python -m calip3d.ray",
        description="Classify many point-cloud files on a Ray cluster into one Parquet file "
        "(one row per file, the fields of `calip3d batch`).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders (searched recursively for .ply .las .laz .off .obj .stl) and glob patterns")
    p.add_argument("-c", "--classes", required=True, help="a comma list, a classes file or a built-in list (modelnet40, modelnet10, scanobjectnn)")
    p.add_argument("-m", "--model", default=calip3d.DEFAULT_MODEL, help="CLIP model: a folder (on every node) or a Hub repo id (default %(default)s)")
    p.add_argument("-o", "--out", required=True, help="results file, .parquet")
    p.add_argument("--workers", type=int, default=2, help="actors, each holding one classifier (default %(default)s)")
    p.add_argument("--cpus-per-worker", type=float, default=1, help="CPUs Ray reserves per actor; also its encoder threads (default %(default)s)")
    p.add_argument("--files-per-batch", type=int, default=16, help="files sent to an actor at a time (default %(default)s)")
    p.add_argument("--address", default=None, help="an existing Ray cluster (default: RAY_ADDRESS, else a local cluster for this run)")
    p.add_argument("--projection", default="realistic", choices=["realistic", "pointclip"])
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"], help="where to project (default %(default)s)")
    p.add_argument("--max-points", type=int, default=1024, help="points kept per cloud, 0 = all (default %(default)s)")
    p.add_argument("--up-axis", choices=["y", "z"], default=None, help="up axis of the inputs (default: z for LAS/LAZ, y otherwise)")
    p.add_argument("--alpha", type=float, default=None)
    p.add_argument("--beta2", type=float, default=None)
    p.add_argument("--beta3", type=float, default=None)
    p.add_argument("--baseline", action="store_true", help="plain CLIP (beta2 = beta3 = 0)")
    p.add_argument("--template", action="append", default=None, help="prompt template with {} for the class name (repeatable)")
    p.add_argument("--normalize", action="store_true", help="CLIP mean/std normalisation of the depth maps")
    p.add_argument("--precision", default=None, help="vision tower precision: f32, bf16 or int8")
    p.add_argument("--profile", default=None, help="tuning profile from calip3d tune")
    p.add_argument("--adapter", default=None, help="few-shot adapter from calip3d fit")
    p.add_argument("--search-on-test", action="store_true", help="allow a profile or adapter chosen on the test split (every row is stamped)")
    p.add_argument("-k", "--top-k", type=int, default=5, help="classes listed per row (default %(default)s)")
    p.add_argument("--scene", action="store_true", help="scenes: one row per object, then a summary row per file (as calip3d batch --scene)")
    p.add_argument("--ground", default="auto", choices=["auto", "classified", "smrf", "plane", "none"], help="--scene: how ground is found (default %(default)s)")
    p.add_argument("--cluster", default="euclidean", choices=["euclidean", "dbscan"], help="--scene: clustering (default %(default)s)")
    p.add_argument("--radius", type=float, default=None, help="--scene: link distance in the cloud's units (default: by ground kind)")
    p.add_argument("--min-points", type=int, default=None, help="--scene: smallest object (default: by ground kind)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    return p.parse_args(argv)


def _settings(args: argparse.Namespace) -> dict:
    """The Classifier keyword arguments of the command line."""
    return dict(
        model=args.model,
        projection=args.projection,
        device=args.device,
        max_points=args.max_points,
        precision=args.precision,
        profile=args.profile,
        adapter=args.adapter,
        allow_test_search=args.search_on_test,
        up_axis=args.up_axis,
        alpha=args.alpha,
        beta2=args.beta2,
        beta3=args.beta3,
        baseline=args.baseline,
        templates=args.template,
        normalize=args.normalize,
        top_k=args.top_k,
    )


def _scene_settings(args: argparse.Namespace) -> Optional[dict]:
    """The ``Classifier.scene`` keyword arguments of the command line; None without --scene."""
    if not args.scene:
        return None
    return dict(
        up_axis=args.up_axis,
        ground=args.ground,
        cluster=args.cluster,
        radius=args.radius,
        min_points=args.min_points,
        top_k=args.top_k,
    )


class UsageError(Exception):
    """A setup problem found before any file runs."""


def run(args: argparse.Namespace) -> tuple[int, int]:
    """Runs the pipeline of ``args``; returns (files classified, files failed)."""
    import calip3d

    if not args.out.lower().endswith(".parquet"):
        raise UsageError(f"{args.out}: results file must end in .parquet")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.files_per_batch < 1:
        raise UsageError("--files-per-batch must be at least 1")
    if args.min_points is not None and args.min_points < 1:
        raise UsageError("--min-points must be at least 1")
    if args.radius is not None and not args.radius > 0:
        raise UsageError("--radius must be positive")
    # Checked here, without a model, so that a bad list is one clear message, not an actor failure.
    calip3d.resolve_classes(args.classes, args.projection, args.template)
    calip3d.check_settings(precision=args.precision, profile=args.profile, adapter=args.adapter,
                           allow_test_search=args.search_on_test)
    files = calip3d.expand_inputs(args.inputs)

    try:
        import pyarrow.parquet as pq
        import ray
    except ImportError as e:
        raise UsageError(f"{e.name} is missing: pip install 'calip3d[ray]'") from e
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = f"{out}.partial"
    schema = scene_schema() if args.scene else results_schema()
    if not files:
        # As `calip3d batch` on an empty folder: an empty results file, no cluster needed.
        pq.write_table(schema.empty_table(), tmp)
        os.replace(tmp, out)
        return 0, 0
    # Every actor gets work even when there are few files.
    per_batch = min(args.files_per_batch, math.ceil(len(files) / args.workers))

    address = args.address or os.environ.get("RAY_ADDRESS")
    quiet = dict(logging_level=logging.WARNING) if args.quiet else {}
    if address:
        ray.init(address=address, log_to_driver=False, **quiet)
    else:
        # A local cluster just for this run, with room for every actor.
        cpus = max(os.cpu_count() or 1, math.ceil(args.workers * args.cpus_per_worker))
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, **quiet)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = not args.quiet
        blocks = math.ceil(len(files) / per_batch)
        ds = ray.data.from_items([{"file": f} for f in files], override_num_blocks=blocks)
        ds = ds.map_batches(
            _ClassifyFiles,
            batch_size=per_batch,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=args.workers),
            num_cpus=args.cpus_per_worker,
            fn_constructor_kwargs=dict(
                settings=_settings(args),
                classes=args.classes,
                cwd=os.getcwd(),
                jobs=max(1, int(args.cpus_per_worker)),
                threads=max(1, int(args.cpus_per_worker)),
                scene=_scene_settings(args),
            ),
        )
        ok = failed = 0
        try:
            with pq.ParquetWriter(tmp, schema) as writer:
                for table in ds.iter_batches(batch_format="pyarrow", batch_size=None):
                    table = table.cast(schema)
                    writer.write_table(table)
                    # Files are counted by their one row (batch) or their summary row (--scene).
                    kinds = table.column("record").to_pylist() if args.scene else None
                    for i, v in enumerate(table.column("ok").to_pylist()):
                        if kinds is None or kinds[i] == "summary":
                            ok += bool(v)
                            failed += not v
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    finally:
        ray.shutdown()
    return ok, failed


def _actor_error(e: BaseException) -> Optional[str]:
    """calip3d's message inside Ray's wrappers, or None. An actor whose Classifier could not be
    built dies with an ActorDiedError that holds the original error only as text."""
    import re
    import traceback

    import calip3d

    seen = set()
    cause: Optional[BaseException] = e
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, calip3d.Calip3dError):
            return str(cause)
        cause = getattr(cause, "cause", None) or cause.__cause__
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    found = re.findall(r"^calip3d\.(?:Calip3dError|LoadError|ClassesError): (.*)$", text, re.M)
    return found[-1] if found else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m calip3d.ray``; returns the exit status."""
    import calip3d

    args = parse_args(argv)
    try:
        ok, failed = run(args)
    except (UsageError, calip3d.Calip3dError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # Ray wraps what failed inside an actor
        message = _actor_error(e)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(
            f"{ok + failed} files: {ok} classified, {failed} failed; results in {args.out}",
            file=sys.stderr,
        )
    return 0 if failed == 0 else 2


if __name__ == "__main__":
    # Run through the package module so that Ray pickles the actor class by reference.
    from calip3d.ray import main as _main

    sys.exit(_main())
