//! The one pipeline loop of calip3d: read → project on worker threads, encode → attend on the
//! calling thread, pipelined on bounded memory. `batch`, `eval` and `tune` are its consumers;
//! none of them has a loop of its own.
//!
//! Items come from a [`Source`] in *read units* (a file, or an h5 chunk holding many shapes).
//! Workers take units in order, read them, prepare and project their clouds in groups, and send
//! the views down a bounded channel. The calling thread joins the views of several items into one
//! encoder batch of about [`StreamOptions::views_per_encode`] views (the encoder is the slow
//! stage: it should always see full batches), encodes it and hands the features on. A bad item
//! is an `Err` for that item alone, a panic while reading or projecting is contained to its unit,
//! and the run stops early only when the consumer itself fails.

use super::{ClassSet, Classifier, Prediction, ViewFeatures};
use crate::cloud::PointCloud;
use crate::error::{Error, Result};
use crate::load::LoadOptions;
use crate::project::ClipBatch;
use nalgebra::Point3;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TryRecvError};
use std::time::Instant;

/// How a stream runs: worker threads and the encoder's batch size (the one setting of both for
/// `batch`, `eval`, `tune` and the Python package).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Worker threads that read and project items.
    pub jobs: usize,
    /// Views encoded together (views of several items); with the queue depth this bounds
    /// memory. 0 (the default) takes the encoder's own batch: 32 images on the CPU, as many as
    /// the GPU adapter's limits allow (up to 256) on a GPU.
    pub views_per_encode: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            jobs: super::DEFAULT_JOBS,
            views_per_encode: 0,
        }
    }
}

impl StreamOptions {
    /// `jobs` worker threads (at least 1) and `views_per_encode` views per encoder batch.
    pub fn new(jobs: usize, views_per_encode: usize) -> Self {
        StreamOptions {
            jobs,
            views_per_encode,
        }
    }
}

/// Told when a file's reading starts and ends, from any thread: a journal of these events lets a
/// resumed run know which file a crash happened in (`batch`'s results file is one).
pub trait ReadObserver: Sync {
    /// `file` is about to be read. An error fails the file.
    fn reading(&self, file: &std::path::Path) -> Result<()>;
    /// `file` was read (successfully or not). An error fails the file.
    fn read(&self, file: &std::path::Path) -> Result<()>;
}

/// Observes nothing.
impl ReadObserver for () {
    fn reading(&self, _: &std::path::Path) -> Result<()> {
        Ok(())
    }
    fn read(&self, _: &std::path::Path) -> Result<()> {
        Ok(())
    }
}

/// What a stream reads: items numbered `0..n`, grouped into read units.
pub(crate) trait Source: Sync {
    /// Number of read units.
    fn units(&self) -> usize;
    /// The items of unit `unit` (consecutive, non-empty).
    fn unit_items(&self, unit: usize) -> Range<usize>;
    /// Reads unit `unit`: one cloud (or error) per item of [`Self::unit_items`]. Called on a
    /// worker thread; a panic here fails the unit's items, not the run.
    fn read_unit(&self, unit: usize, load: &LoadOptions) -> Vec<Result<PointCloud>>;
    /// The item as messages name it (a file, `file#index`).
    fn name(&self, item: usize) -> String;
}

/// Milliseconds an item spent being read and projected (its share of its unit and group).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct StageTimes {
    pub load_ms: f64,
    pub project_ms: f64,
}

/// What the stream hands its consumer, in completion order.
pub(crate) enum Event {
    /// An item that could not be read, prepared or projected.
    Failed { item: usize, error: Error },
    /// Items encoded together: their numbers and times, and their view features in that order
    /// (or the encoder's error, which every one of them shares).
    Encoded {
        items: Vec<(usize, StageTimes)>,
        features: Result<ViewFeatures>,
    },
}

/// A worker's message: views of items projected together, or one item's failure.
enum Projected {
    Views {
        items: Vec<(usize, StageTimes)>,
        batch: ClipBatch,
    },
    Failed {
        item: usize,
        error: Error,
    },
}

/// Runs the stream over every item of `source`, handing each [`Event`] to `sink`. Memory is
/// bounded by the channel (`jobs` + one encoder batch of messages), whatever the source's size.
pub(crate) fn run(
    classifier: &Classifier,
    source: &dyn Source,
    options: &StreamOptions,
    mut sink: impl FnMut(Event) -> Result<()>,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let jobs = options.jobs.max(1);
    let views = classifier.projector().views().len().max(1);
    let views_per_encode = match options.views_per_encode {
        0 => classifier.encoder().batch_size(),
        n => n,
    };
    let items_per_encode = (views_per_encode / views).max(1);
    let (tx, rx) = sync_channel::<Projected>(jobs + items_per_encode);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let unit = next.fetch_add(1, Ordering::Relaxed);
                if unit >= source.units() {
                    break;
                }
                let sent = catch_unwind(AssertUnwindSafe(|| {
                    project_unit(classifier, source, unit, items_per_encode, &tx)
                }))
                .unwrap_or_else(|_| {
                    source.unit_items(unit).all(|item| {
                        let error =
                            Error::panicked_while(source.name(item), "reading or projecting");
                        tx.send(Projected::Failed { item, error }).is_ok()
                    })
                });
                if !sent {
                    break;
                }
            });
        }
        drop(tx);

        let mut pending: Vec<(Vec<(usize, StageTimes)>, ClipBatch)> = Vec::new();
        let mut queued = 0usize;
        loop {
            let msg = if pending.is_empty() {
                rx.recv().ok()
            } else if queued >= items_per_encode {
                None
            } else {
                match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => None,
                }
            };
            match msg {
                Some(Projected::Views { items, batch }) => {
                    queued += items.len();
                    pending.push((items, batch));
                }
                Some(Projected::Failed { item, error }) => sink(Event::Failed { item, error })?,
                None if pending.is_empty() => break,
                None => {
                    sink(encode(classifier, std::mem::take(&mut pending)))?;
                    queued = 0;
                }
            }
        }
        Ok(())
    })
}

/// Reads one unit and sends its views in groups of `group` items; false once the receiver is
/// gone.
fn project_unit(
    classifier: &Classifier,
    source: &dyn Source,
    unit: usize,
    group: usize,
    tx: &SyncSender<Projected>,
) -> bool {
    let t = Instant::now();
    let items = source.unit_items(unit);
    let mut clouds = source
        .read_unit(unit, classifier.load_options())
        .into_iter();
    let mut ready: Vec<(usize, Vec<Point3<f32>>)> = Vec::new();
    for item in items.clone() {
        let cloud = clouds.next().unwrap_or_else(|| {
            Err(Error::Internal(format!(
                "{}: its read unit gave no cloud for it",
                source.name(item)
            )))
        });
        match cloud.and_then(|c| classifier.prepare(&c)) {
            Ok(points) => ready.push((item, points)),
            Err(error) => {
                if tx.send(Projected::Failed { item, error }).is_err() {
                    return false;
                }
            }
        }
    }
    let load_ms = ms_since(t) / items.len().max(1) as f64;
    for chunk in ready.chunks(group) {
        let msgs = match project_group(classifier, chunk, load_ms) {
            Ok(msg) => vec![msg],
            // One cloud can fail a group: project each alone, so that each gets its own outcome.
            Err(_) if chunk.len() > 1 => chunk
                .iter()
                .map(|one| {
                    project_group(classifier, std::slice::from_ref(one), load_ms)
                        .unwrap_or_else(|error| Projected::Failed { item: one.0, error })
                })
                .collect(),
            Err(error) => vec![Projected::Failed {
                item: chunk[0].0,
                error,
            }],
        };
        for msg in msgs {
            if tx.send(msg).is_err() {
                return false;
            }
        }
    }
    true
}

/// Projects the prepared clouds of `group` together.
fn project_group(
    classifier: &Classifier,
    group: &[(usize, Vec<Point3<f32>>)],
    load_ms: f64,
) -> Result<Projected> {
    let refs: Vec<&[Point3<f32>]> = group.iter().map(|(_, p)| p.as_slice()).collect();
    let projected = classifier.project(&refs)?;
    let times = StageTimes {
        load_ms,
        project_ms: projected.project_ms / group.len() as f64,
    };
    Ok(Projected::Views {
        items: group.iter().map(|(i, _)| (*i, times)).collect(),
        batch: projected.batch,
    })
}

/// Encodes the views of several groups in one batch.
fn encode(classifier: &Classifier, pending: Vec<(Vec<(usize, StageTimes)>, ClipBatch)>) -> Event {
    let first = &pending[0].1;
    let mut joined = ClipBatch {
        views_per_cloud: first.views_per_cloud,
        size: first.size,
        data: Vec::with_capacity(pending.iter().map(|p| p.1.data.len()).sum()),
    };
    for (_, batch) in &pending {
        joined.data.extend_from_slice(&batch.data);
    }
    let items = pending.into_iter().flat_map(|(items, _)| items).collect();
    Event::Encoded {
        items,
        features: classifier.encode(&joined),
    }
}

/// Runs the stream and scores every encoded batch against `classes` with the classifier's own
/// settings: `sink` gets each item's prediction (with its load, projection, encoding and
/// attention times) or error, in completion order.
pub(crate) fn predict(
    classifier: &Classifier,
    classes: &ClassSet,
    source: &dyn Source,
    options: &StreamOptions,
    mut sink: impl FnMut(usize, Result<Prediction>) -> Result<()>,
) -> Result<()> {
    classifier.check_classes(classes)?;
    run(classifier, source, options, |event| match event {
        Event::Failed { item, error } => sink(item, Err(error)),
        Event::Encoded { items, features } => {
            let predictions = features.and_then(|f| classifier.score_features(&f, classes));
            match predictions {
                Ok(predictions) => {
                    for ((item, times), mut p) in items.into_iter().zip(predictions) {
                        p.timings.load = times.load_ms;
                        p.timings.project = times.project_ms;
                        sink(item, Ok(p))?;
                    }
                    Ok(())
                }
                Err(e) => {
                    let message = e.to_string();
                    for (item, _) in items {
                        sink(item, Err(Error::Encode(message.clone())))?;
                    }
                    Ok(())
                }
            }
        }
    })
}

/// The view features of every item of a source that could be read, in item order.
pub(crate) struct Collected {
    /// The items encoded, ascending.
    pub items: Vec<usize>,
    /// Their features, clouds in the order of `items`; `None` when no item could be read.
    pub features: Option<ViewFeatures>,
    /// `(item, message)` of the items that failed, ascending.
    pub failed: Vec<(usize, String)>,
}

/// Runs the stream and keeps the view features of every item that was read. `progress` is
/// called with the number of items done after each event.
pub(crate) fn collect_features(
    classifier: &Classifier,
    source: &dyn Source,
    options: &StreamOptions,
    mut progress: impl FnMut(usize),
) -> Result<Collected> {
    let v = classifier.projector().views().len();
    let mut parts: Vec<(usize, candle_core::Tensor, candle_core::Tensor)> = Vec::new();
    let mut failed = Vec::new();
    run(classifier, source, options, |event| {
        match event {
            Event::Failed { item, error } => {
                failed.push((item, error.to_string()));
                progress(1);
            }
            Event::Encoded { items, features } => match features {
                Ok(f) => {
                    for (k, (item, _)) in items.iter().enumerate() {
                        parts.push((
                            *item,
                            f.global.narrow(0, k * v, v)?,
                            f.spatial.narrow(0, k * v, v)?,
                        ));
                    }
                    progress(items.len());
                }
                Err(e) => {
                    let message = e.to_string();
                    progress(items.len());
                    failed.extend(items.into_iter().map(|(i, _)| (i, message.clone())));
                }
            },
        }
        Ok(())
    })?;
    parts.sort_by_key(|p| p.0);
    failed.sort_by_key(|f| f.0);
    if parts.is_empty() {
        return Ok(Collected {
            items: Vec::new(),
            features: None,
            failed,
        });
    }
    let items = parts.iter().map(|p| p.0).collect();
    let global: Vec<_> = parts.iter().map(|p| &p.1).collect();
    let spatial: Vec<_> = parts.iter().map(|p| &p.2).collect();
    let features = ViewFeatures {
        global: candle_core::Tensor::cat(&global, 0)?,
        spatial: candle_core::Tensor::cat(&spatial, 0)?,
        views_per_cloud: v,
        encode_ms: 0.0,
    };
    Ok(Collected {
        items,
        features: Some(features),
        failed,
    })
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Every item of a dataset, read a unit (an h5 chunk, a file) at a time.
impl Source for crate::load::dataset::Dataset {
    fn units(&self) -> usize {
        self.read_units().len()
    }
    fn unit_items(&self, unit: usize) -> Range<usize> {
        self.read_units()[unit].clone()
    }
    fn read_unit(&self, unit: usize, load: &LoadOptions) -> Vec<Result<PointCloud>> {
        self.read(self.unit_items(unit), load)
            .into_iter()
            .map(|c| c.map_err(Error::from))
            .collect()
    }
    fn name(&self, item: usize) -> String {
        self.items()[item].source.to_string()
    }
}

/// Files, each its own unit, with an observer told when each one's reading starts and ends.
pub(crate) struct Files<'a> {
    pub files: &'a [std::path::PathBuf],
    pub observer: &'a dyn ReadObserver,
}

impl Source for Files<'_> {
    fn units(&self) -> usize {
        self.files.len()
    }
    fn unit_items(&self, unit: usize) -> Range<usize> {
        unit..unit + 1
    }
    fn read_unit(&self, unit: usize, load: &LoadOptions) -> Vec<Result<PointCloud>> {
        let path = &self.files[unit];
        // An observer that cannot record the reading (the journal) fails the file.
        let cloud = self.observer.reading(path).and_then(|()| {
            let cloud = crate::load::load(path, load).map_err(Error::from);
            self.observer.read(path)?;
            cloud
        });
        vec![cloud]
    }
    fn name(&self, item: usize) -> String {
        self.files[item].display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classes::ClassSpec;
    use crate::cloud::UpAxis;
    use crate::project::DeviceChoice;
    use std::sync::atomic::AtomicIsize;
    use std::sync::Mutex;

    fn classifier() -> Classifier {
        let model = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/clip/tiny");
        Classifier::builder()
            .model(model)
            .device(DeviceChoice::Cpu)
            .build()
            .unwrap()
    }

    /// A cloud of its own per item: a box whose proportions depend on the item.
    fn cloud(item: usize) -> PointCloud {
        let mut xyz = Vec::new();
        let mut rng = crate::load::SplitMix64::new(item as u64);
        let scale = [1.0 + item as f32 * 0.1, 1.0, 0.5 + (item % 3) as f32];
        for _ in 0..300 {
            xyz.extend(scale.map(|s| rng.next_f32() * s));
        }
        PointCloud::from_xyz(&xyz, UpAxis::Y)
    }

    /// `n` items in units of `per_unit`; items in `bad` fail to read, unit `panics` panics, and
    /// the number of clouds read but not yet handed on is tracked.
    struct Fake {
        n: usize,
        per_unit: usize,
        bad: Vec<usize>,
        panics: Option<usize>,
        in_flight: AtomicIsize,
        most_in_flight: AtomicIsize,
    }

    impl Fake {
        fn new(n: usize, per_unit: usize) -> Self {
            Fake {
                n,
                per_unit,
                bad: Vec::new(),
                panics: None,
                in_flight: AtomicIsize::new(0),
                most_in_flight: AtomicIsize::new(0),
            }
        }
        fn delivered(&self, items: usize) {
            self.in_flight.fetch_sub(items as isize, Ordering::SeqCst);
        }
    }

    impl Source for Fake {
        fn units(&self) -> usize {
            self.n.div_ceil(self.per_unit)
        }
        fn unit_items(&self, unit: usize) -> Range<usize> {
            unit * self.per_unit..((unit + 1) * self.per_unit).min(self.n)
        }
        fn read_unit(&self, unit: usize, _: &LoadOptions) -> Vec<Result<PointCloud>> {
            if self.panics == Some(unit) {
                panic!("a reader bug");
            }
            let items = self.unit_items(unit);
            let now = self
                .in_flight
                .fetch_add(items.len() as isize, Ordering::SeqCst);
            self.most_in_flight
                .fetch_max(now + items.len() as isize, Ordering::SeqCst);
            items
                .map(|i| {
                    if self.bad.contains(&i) {
                        Err(Error::Internal(format!("item {i} is bad")))
                    } else {
                        Ok(cloud(i))
                    }
                })
                .collect()
        }
        fn name(&self, item: usize) -> String {
            format!("item{item}")
        }
    }

    #[test]
    fn every_item_gets_its_own_prediction_or_error_once() {
        let clf = classifier();
        let specs = ClassSpec::from_names(&["box", "slab", "pole"], &["a {}."]);
        let classes = clf.class_set(specs).unwrap();
        let mut source = Fake::new(23, 4);
        source.bad = vec![3, 17];
        source.panics = Some(2); // items 8..12
        let outcomes: Mutex<Vec<Vec<Result<Prediction>>>> =
            Mutex::new((0..23).map(|_| Vec::new()).collect());
        // 25 views per encode: two items of 10 views, joined across units.
        predict(
            &clf,
            &classes,
            &source,
            &StreamOptions::new(2, 25),
            |i, o| {
                source.delivered(1);
                outcomes.lock().unwrap()[i].push(o);
                Ok(())
            },
        )
        .unwrap();
        let outcomes = outcomes.into_inner().unwrap();
        for (i, o) in outcomes.iter().enumerate() {
            assert_eq!(o.len(), 1, "item {i} had {} outcomes", o.len());
            match &o[0] {
                Ok(p) => {
                    assert!(
                        !source.bad.contains(&i) && !(8..12).contains(&i),
                        "item {i}"
                    );
                    // The item's own logits: the batch was not mixed up.
                    let alone = clf.classify(&cloud(i), &classes).unwrap();
                    for (a, b) in p.logits.iter().zip(&alone.logits) {
                        assert!((a - b).abs() < 1e-4, "item {i}: {a} vs {b}");
                    }
                    assert!(p.timings.load >= 0.0 && p.timings.encode > 0.0);
                }
                Err(e) if source.bad.contains(&i) => {
                    assert_eq!(e.to_string(), format!("item {i} is bad"))
                }
                Err(e) => {
                    assert!((8..12).contains(&i), "item {i}: {e}");
                    assert!(e
                        .to_string()
                        .starts_with(&format!("item{i}: internal error")));
                }
            }
        }
    }

    #[test]
    fn memory_is_bounded_by_the_queue_not_the_source() {
        let clf = classifier();
        let source = Fake::new(40, 1);
        let options = StreamOptions::new(2, 20); // two items per encode
        let mut seen = 0;
        run(&clf, &source, &options, |event| {
            let n = match event {
                Event::Failed { .. } => 1,
                Event::Encoded { items, features } => {
                    features?;
                    items.len()
                }
            };
            source.delivered(n);
            seen += n;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, 40);
        // Channel (jobs + 2 messages) + pending batch (2) + one unit per blocked worker (2), and
        // the one the loop is encoding: reading is far faster than encoding, so an unbounded
        // queue would hold most of the 40.
        let most = source.most_in_flight.load(Ordering::SeqCst);
        assert!(most <= 10, "{most} clouds in flight");
    }

    #[test]
    fn features_come_back_in_item_order_with_failures_apart() {
        let clf = classifier();
        let mut source = Fake::new(7, 2);
        source.bad = vec![4];
        let mut progress = 0;
        let Collected {
            items,
            features,
            failed,
        } = collect_features(&clf, &source, &StreamOptions::new(2, 30), |n| progress += n).unwrap();
        assert_eq!(progress, 7);
        assert_eq!(items, [0, 1, 2, 3, 5, 6]);
        assert_eq!(failed, [(4, "item 4 is bad".to_string())]);
        let f = features.unwrap();
        assert_eq!(f.clouds(), 6);
        // Item 5's rows are item 5's views.
        let points = clf.prepare(&cloud(5)).unwrap();
        let alone = clf.encode(&clf.project(&[&points]).unwrap().batch).unwrap();
        let v = f.views_per_cloud;
        let got = f.global.narrow(0, 4 * v, v).unwrap();
        let diff = (got - &alone.global)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-4);
        // An error that stops the consumer stops the run.
        let stop = run(&clf, &source, &StreamOptions::default(), |_| {
            Err(Error::Internal("sink full".into()))
        });
        assert_eq!(stop.unwrap_err().to_string(), "sink full");
    }
}
