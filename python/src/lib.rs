//! `calip3d._native`: the Python binding of the calip3d library (PyO3, abi3).
//!
//! A thin layer: every computation is the Rust library's. Python values come in (numpy arrays,
//! class lists, paths), the library runs with the GIL released, and plain dicts go out with the
//! fields of `calip3d classify --json` (`Prediction::record`) or of a `calip3d batch` record.

use calip3d::batch::{record, run_batch, Record};
use calip3d::classify::{
    classes, ClassSet, Classifier as RustClassifier, Prediction, Settings, StreamOptions,
    DEFAULT_MODEL,
};
use calip3d::load::LoadOptions;
use calip3d::project::Projection;
use calip3d::scene::SceneOptions;
use calip3d::{PointCloud, UpAxis};
use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

create_exception!(
    calip3d,
    Calip3dError,
    PyRuntimeError,
    "An error of the calip3d pipeline; the message is calip3d's own (it names the file and the problem)."
);
create_exception!(
    calip3d,
    LoadError,
    Calip3dError,
    "A point-cloud file could not be read (missing, truncated, not the format it claims, …)."
);
create_exception!(
    calip3d,
    ClassesError,
    Calip3dError,
    "The class list is invalid: an empty or duplicate name, a missing classes file, a bad template."
);

/// The Python exception for a library error, with the library's message.
fn py_err(e: calip3d::Error) -> PyErr {
    let message = e.to_string();
    match e {
        calip3d::Error::Load(_) | calip3d::Error::Io { .. } | calip3d::Error::EmptyCloud(_) => {
            LoadError::new_err(message)
        }
        calip3d::Error::Classes(_) => ClassesError::new_err(message),
        _ => Calip3dError::new_err(message),
    }
}

/// A JSON value as the Python object `json.loads` would give.
fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u), _) => u.into_pyobject(py)?.into_any(),
            (_, _, f) => f.unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// The record of `calip3d batch`'s JSONL file as JSON: the classify object plus `ok: true`, or
/// `{file, ok: false, error}`.
fn record_json(record: Record) -> Value {
    serde_json::from_str(&record.to_json_line()).expect("records are JSON")
}

fn parse_up_axis(s: &str) -> PyResult<UpAxis> {
    match s.to_ascii_lowercase().as_str() {
        "y" => Ok(UpAxis::Y),
        "z" => Ok(UpAxis::Z),
        _ => Err(PyValueError::new_err(format!(
            "up_axis must be \"y\" or \"z\", not {s:?}"
        ))),
    }
}

/// A path argument: `str` or any `os.PathLike`.
fn path_arg(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    let fspath = obj.py().import("os")?.getattr("fspath")?;
    let s = fspath.call1((obj,))?;
    s.extract::<PathBuf>()
        .map_err(|_| PyTypeError::new_err("path must be a str or an os.PathLike giving a str"))
}

/// What `classes` was given as: a `--classes` string (file, built-in list, comma list) or a list of
/// names (each may be `name: prompt | prompt`, as a line of a classes file).
enum ClassesArg {
    Spec(String),
    Names(Vec<String>),
}

impl ClassesArg {
    fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.extract::<String>() {
            return Ok(ClassesArg::Spec(s));
        }
        if obj.hasattr("__fspath__")? {
            let path = path_arg(obj)?;
            return Ok(ClassesArg::Spec(path.display().to_string()));
        }
        if let Ok(names) = obj.extract::<Vec<String>>() {
            return Ok(ClassesArg::Names(names));
        }
        Err(PyTypeError::new_err(
            "classes must be a list of names, a comma-separated string, a classes file or a built-in list name",
        ))
    }

    /// The cache key: distinct for every distinct value.
    fn key(&self) -> String {
        match self {
            ClassesArg::Spec(s) => format!("spec\0{s}"),
            ClassesArg::Names(n) => format!("names\0{}", n.join("\0")),
        }
    }

    fn specs(&self, templates: &[String]) -> PyResult<Vec<classes::ClassSpec>> {
        let resolved = match self {
            ClassesArg::Spec(s) => classes::ClassList::from_arg(s).and_then(|l| l.specs(templates)),
            ClassesArg::Names(names) => {
                // A blank or multi-line name would silently vanish or split in the file syntax.
                if let Some((i, _)) = names
                    .iter()
                    .enumerate()
                    .find(|(_, n)| n.trim().is_empty() || n.contains(['\n', '\r']))
                {
                    return Err(ClassesError::new_err(format!(
                        "classes[{i}]: a class name must be non-empty and on one line"
                    )));
                }
                if let Some(t) = templates.iter().find(|t| !t.contains("{}")) {
                    return Err(ClassesError::new_err(
                        classes::ClassesError::BadTemplate(t.clone()).to_string(),
                    ));
                }
                classes::parse_classes(&names.join("\n"), "classes", templates)
            }
        };
        resolved.map_err(|e| py_err(e.into()))
    }
}

/// Points of a numpy `(N, 3)` array as a cloud, re-centred on their bounding box's centre in f64
/// before going to f32 by [`PointCloud::from_f64_points`], as the file readers do: an array and a
/// file holding the same points give the same logits, UTM-sized coordinates keep their precision,
/// and the cloud's offset puts scene results back in the array's coordinates.
fn cloud_from_array(obj: &Bound<'_, PyAny>, up_axis: UpAxis) -> PyResult<PointCloud> {
    fn build<T: Copy + Into<f64> + numpy::Element>(
        a: &PyReadonlyArray2<'_, T>,
        up_axis: UpAxis,
    ) -> PyResult<PointCloud> {
        let shape = a.shape();
        if shape[1] != 3 {
            return Err(PyValueError::new_err(format!(
                "points must have shape (N, 3), not ({}, {})",
                shape[0], shape[1]
            )));
        }
        let view = a.as_array();
        Ok(PointCloud::from_f64_points(
            view.rows()
                .into_iter()
                .map(|r| [r[0].into(), r[1].into(), r[2].into()]),
            up_axis,
        ))
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray2<'_, f32>>() {
        return build(&a, up_axis);
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray2<'_, f64>>() {
        return build(&a, up_axis);
    }
    let what = match obj.getattr("dtype") {
        Ok(dtype) => format!(
            "a {}-dimensional array of {}",
            obj.getattr("ndim")
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".into()),
            dtype
        ),
        Err(_) => obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into()),
    };
    Err(PyTypeError::new_err(format!(
        "points must be a numpy array of shape (N, 3) and dtype float32 or float64, not {what}"
    )))
}

/// Zero-shot point-cloud classifier: projection → CLIP → CALIP attention → view aggregation.
///
/// Build it once (it loads the CLIP model) and call it many times; it may be shared by threads,
/// and computes with the GIL released. Class lists are encoded once per distinct ``classes``
/// value and kept for the life of the object.
#[pyclass(module = "calip3d", frozen)]
struct Classifier {
    inner: RustClassifier,
    templates: Vec<String>,
    top_k: usize,
    class_sets: Mutex<HashMap<String, Arc<ClassSet>>>,
}

impl Classifier {
    /// The encoded classes for `classes`, from the cache or encoded now (GIL released).
    fn class_set(&self, py: Python<'_>, classes: &Bound<'_, PyAny>) -> PyResult<Arc<ClassSet>> {
        let arg = ClassesArg::from_py(classes)?;
        let key = arg.key();
        if let Some(set) = self.lock_cache().get(&key) {
            return Ok(set.clone());
        }
        let specs = arg.specs(&self.templates)?;
        let inner = &self.inner;
        let set = Arc::new(py.detach(|| inner.class_set(specs)).map_err(py_err)?);
        self.lock_cache().insert(key, set.clone());
        Ok(set)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ClassSet>>> {
        // A panic while the lock was held cannot leave the map half-written: recover it.
        self.class_sets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `classify --json` dict of a prediction; `file` is None for points in memory.
    fn prediction_dict<'py>(
        &self,
        py: Python<'py>,
        p: &Prediction,
        file: Option<&str>,
        top_k: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let record = p.record(file.unwrap_or(""), top_k.unwrap_or(self.top_k));
        // Through the text, as the CLI prints it: `to_value` would widen each f32 to its exact f64
        // (31.869777679…) where the CLI's JSON has the shortest f32 form (31.869778).
        let text = serde_json::to_string(&record).expect("records are JSON");
        let mut json: Value = serde_json::from_str(&text).expect("records are JSON");
        if file.is_none() {
            json["file"] = Value::Null;
        }
        json_to_py(py, &json)
    }
}

#[pymethods]
impl Classifier {
    /// Loads the model and sets up the projection.
    ///
    /// ``precision``, ``profile`` and ``adapter`` are the library's settings of the same names
    /// (``--precision``, ``--profile``, ``--adapter``).
    #[new]
    #[pyo3(signature = (
        model = None,
        projection = "realistic",
        device = "auto",
        max_points = 1024,
        precision = None,
        profile = None,
        adapter = None,
        *,
        up_axis = None,
        alpha = None,
        beta2 = None,
        beta3 = None,
        baseline = false,
        view_weights = None,
        templates = None,
        normalize = false,
        top_k = 5,
        allow_test_search = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: Option<&Bound<'_, PyAny>>,
        projection: &str,
        device: &str,
        max_points: usize,
        precision: Option<&str>,
        profile: Option<&Bound<'_, PyAny>>,
        adapter: Option<&Bound<'_, PyAny>>,
        up_axis: Option<&str>,
        alpha: Option<f32>,
        beta2: Option<f32>,
        beta3: Option<f32>,
        baseline: bool,
        view_weights: Option<Vec<f32>>,
        templates: Option<Vec<String>>,
        normalize: bool,
        top_k: usize,
        allow_test_search: bool,
    ) -> PyResult<Self> {
        // The keywords as the library's settings: the library reads the profile and adapter,
        // refuses test-searched ones as the CLI does, and merges defaults < profile < keywords.
        let mut settings = Settings::default();
        settings.model = Some(match model {
            Some(m) => path_arg(m)?.display().to_string(),
            None => DEFAULT_MODEL.to_string(),
        });
        settings.projection = Some(projection.parse().map_err(PyValueError::new_err)?);
        settings.device = Some(device.parse().map_err(PyValueError::new_err)?);
        settings.precision = Some(
            precision
                .unwrap_or("f32")
                .parse()
                .map_err(|e| PyValueError::new_err(format!("precision: {e}")))?,
        );
        settings.profile = profile.map(path_arg).transpose()?;
        settings.adapter = adapter.map(path_arg).transpose()?;
        settings.allow_test_search = allow_test_search;
        if baseline && (beta2.is_some() || beta3.is_some()) {
            return Err(PyValueError::new_err(
                "baseline=True sets beta2 = beta3 = 0; do not give them too",
            ));
        }
        settings.baseline = baseline;
        settings.alpha = alpha;
        settings.beta2 = beta2;
        settings.beta3 = beta3;
        settings.view_weights = view_weights;
        settings.templates = templates;
        settings.normalize_input = normalize;
        settings.max_points = Some(max_points);
        settings.up_axis = up_axis.map(parse_up_axis).transpose()?;
        let inner = py
            .detach(|| RustClassifier::new(&settings))
            .map_err(py_err)?;
        let templates = inner.templates();
        Ok(Classifier {
            inner,
            templates,
            top_k,
            class_sets: Mutex::new(HashMap::new()),
        })
    }

    /// The model's identity: the Hub repo id or the folder it was loaded from.
    #[getter]
    fn model(&self) -> String {
        self.inner.model_id().to_string()
    }

    /// The projection: ``"realistic"`` or ``"pointclip"``.
    #[getter]
    fn projection(&self) -> String {
        self.inner.projection().to_string()
    }

    /// Where clouds are projected: ``"cpu"`` or ``"gpu: <adapter>"``.
    #[getter]
    fn device(&self) -> String {
        self.inner.projector().backend().to_string()
    }

    /// Points kept per cloud (0 = all).
    #[getter]
    fn max_points(&self) -> usize {
        self.inner.load_options().max_points
    }

    /// Number of views rendered per cloud.
    #[getter]
    fn views(&self) -> usize {
        self.inner.projector().views().len()
    }

    /// How many distinct class lists are encoded and cached (for tests).
    #[getter]
    fn _cached_class_lists(&self) -> usize {
        self.lock_cache().len()
    }

    /// The class names ``classes`` resolves to, in order (encodes and caches them).
    fn class_names(&self, py: Python<'_>, classes: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        Ok(self.class_set(py, classes)?.names().to_vec())
    }

    /// Classifies one cloud of points in memory: a numpy ``(N, 3)`` float32 or float64 array.
    #[pyo3(signature = (points, classes, up_axis = "y", *, top_k = None))]
    fn classify<'py>(
        &self,
        py: Python<'py>,
        points: &Bound<'py, PyAny>,
        classes: &Bound<'py, PyAny>,
        up_axis: &str,
        top_k: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cloud = cloud_from_array(points, parse_up_axis(up_axis)?)?;
        let set = self.class_set(py, classes)?;
        let inner = &self.inner;
        let p = py.detach(|| inner.classify(&cloud, &set)).map_err(py_err)?;
        self.prediction_dict(py, &p, None, top_k)
    }

    /// Classifies several clouds in memory in one batched computation; one dict per cloud.
    #[pyo3(signature = (points, classes, up_axis = "y", *, top_k = None))]
    fn classify_many<'py>(
        &self,
        py: Python<'py>,
        points: &Bound<'py, PyAny>,
        classes: &Bound<'py, PyAny>,
        up_axis: &str,
        top_k: Option<usize>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let up = parse_up_axis(up_axis)?;
        let clouds = points
            .try_iter()?
            .enumerate()
            .map(|(i, item)| {
                cloud_from_array(&item?, up).map_err(|e| {
                    let kind = e.get_type(py);
                    PyErr::from_type(kind, format!("points[{i}]: {}", e.value(py)))
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        if clouds.is_empty() {
            return Ok(Vec::new());
        }
        let set = self.class_set(py, classes)?;
        let inner = &self.inner;
        let refs: Vec<&PointCloud> = clouds.iter().collect();
        let predictions = py
            .detach(|| inner.classify_many(&refs, &set))
            .map_err(py_err)?;
        predictions
            .iter()
            .map(|p| self.prediction_dict(py, p, None, top_k))
            .collect()
    }

    /// Reads and classifies one file (PLY, LAS/LAZ, OFF, OBJ, STL); the dict of
    /// ``calip3d classify --json``.
    #[pyo3(signature = (path, classes, *, top_k = None))]
    fn classify_file<'py>(
        &self,
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        classes: &Bound<'py, PyAny>,
        top_k: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let path = path_arg(path)?;
        let set = self.class_set(py, classes)?;
        let inner = &self.inner;
        let p = py
            .detach(|| inner.classify_file(&path, &set))
            .map_err(py_err)?;
        self.prediction_dict(py, &p, Some(&path.display().to_string()), top_k)
    }

    /// Classifies many files with calip3d's batch pipeline (``jobs`` threads read and project,
    /// views of several files are encoded together). A bad file never raises: it gets a record
    /// with ``ok: False`` and ``error``. Returns the records of ``calip3d batch``'s JSONL file,
    /// in the order of ``paths``.
    #[pyo3(signature = (paths, classes, *, jobs = None, views_per_encode = None, top_k = None))]
    fn classify_files<'py>(
        &self,
        py: Python<'py>,
        paths: &Bound<'py, PyAny>,
        classes: &Bound<'py, PyAny>,
        jobs: Option<usize>,
        views_per_encode: Option<usize>,
        top_k: Option<usize>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let files = paths
            .try_iter()?
            .map(|p| path_arg(&p?))
            .collect::<PyResult<Vec<PathBuf>>>()?;
        let set = self.class_set(py, classes)?;
        let inner = &self.inner;
        let top_k = top_k.unwrap_or(self.top_k);
        // The library's defaults, the CLI's: one source for both.
        let defaults = StreamOptions::default();
        let options = StreamOptions::new(
            jobs.unwrap_or(defaults.jobs),
            views_per_encode.unwrap_or(defaults.views_per_encode),
        );
        let records = py
            .detach(|| -> calip3d::Result<Vec<Option<Value>>> {
                // run_batch reports in completion order; put records back in input order.
                let mut slots: HashMap<&Path, VecDeque<usize>> = HashMap::new();
                for (i, f) in files.iter().enumerate() {
                    slots.entry(f.as_path()).or_default().push_back(i);
                }
                let mut out: Vec<Option<Value>> = vec![None; files.len()];
                run_batch(inner, &set, &files, &options, |file, outcome| {
                    if let Some(i) = slots.get_mut(file).and_then(VecDeque::pop_front) {
                        out[i] = Some(record_json(record(file, &outcome, top_k)));
                    }
                    Ok(())
                })?;
                Ok(out)
            })
            .map_err(py_err)?;
        records
            .into_iter()
            .zip(&files)
            .map(|(r, file)| {
                let r = r.ok_or_else(|| {
                    Calip3dError::new_err(format!("{}: no result from the batch", file.display()))
                })?;
                json_to_py(py, &r)
            })
            .collect()
    }

    /// Finds the objects of a scene (ground, then clusters) and classifies each, as
    /// ``calip3d scene``. ``source`` is a file (read with every point) or an (N, 3) numpy array.
    ///
    /// Returns a dict: the fields of a ``calip3d batch --scene`` summary record (``file``,
    /// ``points``, ``ground_points``, ``noise_points``, ``other_points``, ``ground``, ``cluster``,
    /// ``timings_ms``), ``objects`` as a list of its object records (``cluster_id``, ``points``,
    /// ``centroid`` and ``bbox`` in file coordinates, ``class``, ``probability``, ``top``,
    /// ``classes``, ``logits``), and per point, as numpy arrays: ``roles`` (uint8: 0 other,
    /// 1 ground, 2 noise), ``cluster_ids`` (uint32, 0 = in no object), ``labels`` (uint16,
    /// 1 + the class index, 0 = in no object) and, for a file, ``source_index`` (uint64: the
    /// point's index in the file; points with non-finite coordinates are not in the cloud).
    #[pyo3(signature = (
        source,
        classes,
        *,
        up_axis = None,
        ground = "auto",
        cluster = "euclidean",
        radius = None,
        min_points = None,
        max_object_points = None,
        top_k = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn scene<'py>(
        &self,
        py: Python<'py>,
        source: &Bound<'py, PyAny>,
        classes: &Bound<'py, PyAny>,
        up_axis: Option<&str>,
        ground: &str,
        cluster: &str,
        radius: Option<f64>,
        min_points: Option<usize>,
        max_object_points: Option<usize>,
        top_k: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = SceneOptions {
            ground: ground.parse().map_err(PyValueError::new_err)?,
            cluster: cluster.parse().map_err(PyValueError::new_err)?,
            radius,
            min_points,
            max_points: max_object_points,
            ..SceneOptions::default()
        };
        let up_axis = up_axis.map(parse_up_axis).transpose()?;
        let is_array =
            source.hasattr("shape")? && !source.is_instance_of::<pyo3::types::PyString>();
        let (cloud, file) = if is_array {
            (
                cloud_from_array(source, up_axis.unwrap_or(UpAxis::Y))?,
                None,
            )
        } else {
            let path = path_arg(source)?;
            let load = LoadOptions {
                max_points: 0,
                up_axis: up_axis.or(self.inner.load_options().up_axis),
                ..self.inner.load_options().clone()
            };
            let cloud = py
                .detach(|| calip3d::load::load(&path, &load))
                .map_err(|e| py_err(e.into()))?;
            (cloud, Some(path.display().to_string()))
        };
        let set = self.class_set(py, classes)?;
        let inner = &self.inner;
        let scene = py
            .detach(|| inner.classify_scene(&cloud, &set, &options))
            .map_err(py_err)?;
        let name = file.clone().unwrap_or_default();
        let top_k = top_k.unwrap_or(self.top_k);
        // The very values the CLI prints into its objects file (these are already JSON values).
        let mut dict = calip3d::scene::summary_json(&name, Ok((&scene, cloud.len())));
        let objects: Vec<Value> = scene
            .objects
            .iter()
            .map(|o| calip3d::scene::object_json(&name, o, top_k))
            .collect();
        if let Value::Object(map) = &mut dict {
            map.remove("record");
            map.remove("ok");
            map.insert("objects".into(), Value::Array(objects));
            if file.is_none() {
                map.insert("file".into(), Value::Null);
            }
        }
        let out = json_to_py(py, &dict)?;
        let roles: Vec<u8> = scene.roles.iter().map(|&r| r as u8).collect();
        out.set_item("roles", numpy::PyArray1::from_vec(py, roles))?;
        out.set_item(
            "cluster_ids",
            numpy::PyArray1::from_vec(py, scene.cluster_ids),
        )?;
        out.set_item("labels", numpy::PyArray1::from_vec(py, scene.labels))?;
        if file.is_some() {
            let index: Vec<u64> = match cloud.source_index() {
                Some(index) => index.to_vec(),
                None => (0..cloud.len() as u64).collect(),
            };
            out.set_item("source_index", numpy::PyArray1::from_vec(py, index))?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!(
            "Classifier(model={:?}, projection={:?}, device={:?}, max_points={})",
            self.inner.model_id(),
            self.inner.projection().to_string(),
            self.inner.projector().backend(),
            self.inner.load_options().max_points
        )
    }
}

/// The point-cloud files of batch inputs, as ``calip3d batch`` expands them: files as given,
/// folders searched recursively by extension, glob patterns; sorted, without duplicates.
#[pyfunction]
fn expand_inputs(inputs: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let inputs: Vec<String> = if let Ok(s) = inputs.extract::<String>() {
        vec![s]
    } else {
        inputs
            .try_iter()?
            .map(|i| Ok(path_arg(&i?)?.display().to_string()))
            .collect::<PyResult<_>>()?
    };
    let files = calip3d::load::expand_inputs(&inputs).map_err(|e| py_err(e.into()))?;
    Ok(files.iter().map(|f| f.display().to_string()).collect())
}

/// The classes ``classes`` resolves to, as ``(name, prompts)`` pairs, without loading a model:
/// the same resolution as ``Classifier`` and ``--classes``, to check a class list early.
#[pyfunction]
#[pyo3(signature = (classes, projection = "realistic", templates = None))]
fn resolve_classes(
    classes: &Bound<'_, PyAny>,
    projection: &str,
    templates: Option<Vec<String>>,
) -> PyResult<Vec<(String, Vec<String>)>> {
    let projection: Projection = projection.parse().map_err(PyValueError::new_err)?;
    let templates = templates.unwrap_or_else(|| classes::default_templates(projection));
    let specs = ClassesArg::from_py(classes)?.specs(&templates)?;
    Ok(specs.into_iter().map(|s| (s.name, s.prompts)).collect())
}

/// Checks ``precision``, ``profile`` and ``adapter`` as ``Classifier`` would, without loading a
/// model: a bad setting, or a profile or adapter chosen on the test split without
/// ``allow_test_search``, is one clear error before any work starts (``calip3d.ray`` calls it on
/// the driver, before Ray starts).
#[pyfunction]
#[pyo3(signature = (precision = None, profile = None, adapter = None, allow_test_search = false))]
fn check_settings(
    precision: Option<&str>,
    profile: Option<&Bound<'_, PyAny>>,
    adapter: Option<&Bound<'_, PyAny>>,
    allow_test_search: bool,
) -> PyResult<()> {
    if let Some(precision) = precision {
        precision
            .parse::<calip3d::encode::Precision>()
            .map_err(|e| PyValueError::new_err(format!("precision: {e}")))?;
    }
    let mut settings = Settings::default();
    settings.profile = profile.map(path_arg).transpose()?;
    settings.adapter = adapter.map(path_arg).transpose()?;
    settings.allow_test_search = allow_test_search;
    settings.load_profile().map_err(py_err)?;
    settings.load_adapter().map_err(py_err)?;
    Ok(())
}

/// The native module; `calip3d/__init__.py` re-exports it.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Classifier>()?;
    m.add_function(wrap_pyfunction!(expand_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_classes, m)?)?;
    m.add_function(wrap_pyfunction!(check_settings, m)?)?;
    m.add("Calip3dError", py.get_type::<Calip3dError>())?;
    m.add("LoadError", py.get_type::<LoadError>())?;
    m.add("ClassesError", py.get_type::<ClassesError>())?;
    m.add("DEFAULT_MODEL", DEFAULT_MODEL)?;
    m.add("CLOUD_EXTENSIONS", calip3d::load::CLOUD_EXTENSIONS.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
