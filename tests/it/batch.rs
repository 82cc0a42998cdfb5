//! `calip3d batch`: records for good and broken files, exit codes, resume, bounded memory.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

const CLASSES: &str = "box,pole,plate";

fn batch(inputs: &[&Path], out: &Path, extra: &[&str]) -> std::process::Output {
    let model = tiny_model();
    let mut args: Vec<String> = vec!["batch".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    for a in [
        "--classes",
        CLASSES,
        "--device",
        "cpu",
        "--quiet",
        "--model",
    ] {
        args.push(a.into());
    }
    args.push(model.display().to_string());
    args.push("--out".into());
    args.push(out.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    calip3d(&refs)
}

/// A folder with three good clouds and four broken files.
fn mixed_folder(dir: &Path) {
    for k in 0..3 {
        write_ply(
            &dir.join(format!("good{k}.ply")),
            &box_cloud(k, 300 + 50 * k as usize),
        );
    }
    // Header says 100 vertices, the body holds 2.
    std::fs::write(
        dir.join("truncated.ply"),
        "ply\nformat ascii 1.0\nelement vertex 100\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n1 1 1\n",
    )
    .unwrap();
    std::fs::write(dir.join("magic.ply"), "this is not a point cloud\n").unwrap();
    std::fs::write(dir.join("empty.las"), b"").unwrap();
    write_ply(&dir.join("zero.ply"), &[]);
}

#[test]
fn good_and_broken_files_each_get_one_record_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("scans");
    std::fs::create_dir(&data).unwrap();
    mixed_folder(&data);
    let out = dir.path().join("results.jsonl");
    let run = batch(&[&data], &out, &[]);
    assert_exit(&run, 2);

    let records = json_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(records.len(), 7);
    let by_file: HashMap<String, &Value> = records
        .iter()
        .map(|r| {
            let f = Path::new(r["file"].as_str().unwrap()).file_name().unwrap();
            (f.to_string_lossy().to_string(), r)
        })
        .collect();
    for k in 0..3 {
        let r = by_file[&format!("good{k}.ply")];
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["classes"].as_array().unwrap().len(), 3);
        assert_eq!(r["logits"].as_array().unwrap().len(), 3);
    }
    for bad in ["truncated.ply", "magic.ply", "empty.las", "zero.ply"] {
        let r = by_file[bad];
        assert_eq!(r["ok"], false, "{r}");
        let err = r["error"].as_str().unwrap();
        assert!(err.contains(bad), "error should name the file: {err}");
    }

    // A good file's record equals what `classify --json` says about it.
    let good = data.join("good1.ply");
    let model = tiny_model();
    let single = calip3d(&[
        "classify",
        good.to_str().unwrap(),
        "--json",
        "--classes",
        CLASSES,
        "--device",
        "cpu",
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(
        single.status.success(),
        "{}",
        String::from_utf8_lossy(&single.stderr)
    );
    let single = &json_lines(&String::from_utf8(single.stdout).unwrap())[0];
    let batched = by_file["good1.ply"];
    for key in ["classes", "projection", "model", "top"] {
        assert_eq!(single[key], batched[key], "{key}");
    }
    let a: Vec<f64> = single["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let b: Vec<f64> = batched["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (x, y) in a.iter().zip(&b) {
        // Batched and single encodes run different matmul shapes: equal up to f32 rounding.
        assert!((x - y).abs() < 1e-3, "{a:?} vs {b:?}");
    }
}

#[test]
fn csv_results_and_setup_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a.ply");
    write_ply(&good, &box_cloud(0, 200));
    let out = dir.path().join("r.csv");
    let run = batch(&[&good], &out, &[]);
    assert_exit(&run, 0);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,ok,top_class,probability,top_k,error,stamp");
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains(",true,"), "{}", lines[1]);

    // A missing classes file is a setup error: exit 1 before any file ran, results untouched.
    let out2 = dir.path().join("r2.jsonl");
    let model = tiny_model();
    let run = calip3d(&[
        "batch",
        good.to_str().unwrap(),
        "--classes",
        "/nonexistent/classes.txt",
        "--model",
        model.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("/nonexistent/classes.txt"), "{err}");
}

#[test]
fn a_killed_run_resumes_and_every_file_has_exactly_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("scans");
    std::fs::create_dir(&data).unwrap();
    let n = 24;
    for k in 0..n {
        write_ply(
            &data.join(format!("s{k:02}.ply")),
            &box_cloud(k % 3, 200 + k as usize),
        );
    }
    std::fs::write(data.join("bad.ply"), "nope").unwrap();
    let out = dir.path().join("results.jsonl");
    let model = tiny_model();

    // Start a run, wait until it has written some records, and kill it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_calip3d"))
        .args([
            "batch",
            data.to_str().unwrap(),
            "--classes",
            CLASSES,
            "--device",
            "cpu",
            "--quiet",
        ])
        .args([
            "--views-per-encode",
            "10",
            "--jobs",
            "1",
            "--model",
            model.to_str().unwrap(),
        ])
        .args(["--out", out.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Records go to the journal as they finish; the results file is replaced at the end.
    let journal = calip3d::batch::journal_path(&out);
    let records_in = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().filter(|l| l.contains("\"ok\":")).count())
            .unwrap_or(0)
    };
    let start = std::time::Instant::now();
    loop {
        if records_in(&journal) >= 3
            || start.elapsed().as_secs() > 120
            || child.try_wait().unwrap().is_some()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().ok();
    child.wait().unwrap();
    // Simulate the worst case too: a journal line cut in half by the kill.
    let before = records_in(&journal);
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str("{\"file\":\"half");
    std::fs::write(&journal, text).unwrap();

    let run = batch(&[&data], &out, &["--resume"]);
    assert_exit(&run, 2);
    let records = json_lines(&std::fs::read_to_string(&out).unwrap());
    let mut count: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *count
            .entry(r["file"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(
        count.len(),
        n as usize + 1,
        "every file has a record ({before} before the resume)"
    );
    assert!(count.values().all(|&c| c == 1), "{count:?}");
    assert_eq!(
        records.iter().filter(|r| r["ok"] == true).count(),
        n as usize
    );
    assert!(!journal.exists(), "a finished run leaves no journal");
}

/// A run killed while a reader is inside a file (a FIFO nobody writes to: the reader blocks in
/// it for ever) is resumed: that file gets a "reader crashed" record instead of blocking the
/// resume, and every file is recorded exactly once.
#[test]
fn a_run_killed_inside_a_reader_resumes_without_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("scans");
    std::fs::create_dir(&data).unwrap();
    for k in 0..4 {
        write_ply(&data.join(format!("s{k}.ply")), &box_cloud(k % 3, 200));
    }
    let fifo = dir.path().join("a_stuck.ply"); // sorted before scans/
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = dir.path().join("results.csv");
    let journal = calip3d::batch::journal_path(&out);
    let model = tiny_model();
    let child = Command::new(env!("CARGO_BIN_EXE_calip3d"))
        .args(["batch", fifo.to_str().unwrap(), data.to_str().unwrap()])
        .args(["--classes", CLASSES, "--device", "cpu", "--quiet"])
        .args(["--jobs", "1", "--model", model.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // With one job the FIFO (sorted first) is read first, and blocks.
    kill_inside_a_reader(child, &journal);

    let run = batch(&[&fifo, &data], &out, &["--resume"]);
    assert_exit(&run, 2);
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "file,ok,top_class,probability,top_k,error,stamp");
    assert_eq!(rows.len(), 1 + 5, "{text}");
    let stuck: Vec<&&str> = rows.iter().filter(|r| r.contains("a_stuck.ply")).collect();
    assert_eq!(stuck.len(), 1, "{text}");
    assert!(
        stuck[0].contains(",false,") && stuck[0].contains("the reader crashed"),
        "{text}"
    );
    assert_eq!(
        rows.iter().filter(|r| r.contains(",true,")).count(),
        4,
        "{text}"
    );
    // A second resume keeps it final and does not block in the FIFO again.
    let again = batch(&[&fifo, &data], &out, &["--resume"]);
    assert_exit(&again, 2);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

/// Peak resident memory of a child process, sampled from /proc until it exits.
fn peak_rss_kib(mut child: std::process::Child) -> (std::process::ExitStatus, u64) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(v) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                peak = peak.max(v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0));
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn a_large_las_is_streamed_within_a_memory_bound() {
    // 3 million points: 60 MB on disk, ~70 MB as f64 triples, far more as las::Point values.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.las");
    let mut header = las::Builder::from((1, 2));
    header.point_format = las::point::Format::new(0).unwrap();
    let t = |offset: f64| las::Transform {
        scale: 0.001,
        offset,
    };
    header.transforms = las::Vector {
        x: t(500_000.0),
        y: t(4_000_000.0),
        z: t(0.0),
    };
    let mut w = las::Writer::from_path(&path, header.into_header().unwrap()).unwrap();
    let n = 3_000_000u32;
    for i in 0..n {
        let t = i as f64 / n as f64;
        let p = las::Point {
            x: 500_000.0 + (t * 977.0).fract() * 50.0,
            y: 4_000_000.0 + (t * 613.0).fract() * 50.0,
            z: 100.0 + (t * 31.0).fract() * 10.0,
            ..Default::default()
        };
        w.write_point(p).unwrap();
    }
    w.close().unwrap();
    drop(w);
    let out = dir.path().join("r.jsonl");
    let model = tiny_model();
    let child = Command::new(env!("CARGO_BIN_EXE_calip3d"))
        .args([
            "batch",
            path.to_str().unwrap(),
            "--classes",
            CLASSES,
            "--device",
            "cpu",
            "--quiet",
        ])
        .args([
            "--model",
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    let (status, peak_kib) = peak_rss_kib(child);
    assert!(status.success());
    let records = json_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(records[0]["ok"], true);
    // The bound: 150 MiB for 3 M points means the file was never held whole.
    assert!(peak_kib < 150 * 1024, "peak RSS {peak_kib} KiB");
    eprintln!("peak RSS for a 3M-point LAS: {} MiB", peak_kib / 1024);
}

/// Files that aborted the whole process before the readers checked their sizes (a LAZ chunk table
/// of 2³¹ chunks, an EVLR that claims a 4 GB record) are error records among the good files'
/// records, and a resume records them again without duplicating anything.
#[test]
fn files_that_used_to_abort_the_process_are_error_records_and_resume_ends() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("scans");
    std::fs::create_dir(&data).unwrap();
    for k in 0..3 {
        write_ply(&data.join(format!("good{k}.ply")), &box_cloud(k, 250));
    }
    let poison = [
        "laz_chunk_table_2e31_chunks.laz",
        "las_evlr_4gib_record.las",
    ];
    for name in poison {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/fuzz")
                .join(name),
            data.join(name),
        )
        .unwrap();
    }
    let out = dir.path().join("results.jsonl");
    let check = |run: std::process::Output| {
        assert_exit(&run, 2);
        let records = json_lines(&std::fs::read_to_string(&out).unwrap());
        assert_eq!(records.len(), 5, "{records:?}");
        for name in poison {
            let r: Vec<&Value> = records
                .iter()
                .filter(|r| r["file"].as_str().unwrap().ends_with(name))
                .collect();
            assert_eq!(r.len(), 1, "{name}: {records:?}");
            assert_eq!(r[0]["ok"], false);
            let error = r[0]["error"].as_str().unwrap();
            assert!(error.contains(name) && error.contains("claims"), "{error}");
        }
        assert_eq!(records.iter().filter(|r| r["ok"] == true).count(), 3);
    };
    check(batch(&[&data], &out, &[]));
    check(batch(&[&data], &out, &["--resume"]));
}

/// The library's [`calip3d::batch::BatchJob`], without the CLI: every file gets one record, a
/// resume skips finished files and retries failed ones, and a journal left by a run that died
/// inside a reader gives that file a "reader crashed" record instead of reading it again.
#[test]
fn batch_job_resumes_and_isolates_at_the_library_level() {
    use calip3d::batch::{BatchJob, BatchProgress, READER_CRASHED};
    use calip3d::classify::{Classifier, StreamOptions};
    use calip3d::project::DeviceChoice;

    #[derive(Default)]
    struct Seen {
        started: Vec<(usize, usize)>,
        failed: Vec<String>,
        crashed: Vec<String>,
    }
    impl BatchProgress for Seen {
        fn started(&mut self, to_do: usize, already_done: usize) {
            self.started.push((to_do, already_done));
        }
        fn crashed_before(&mut self, file: &str) {
            self.crashed.push(file.to_string());
        }
        fn file_done(&mut self, file: &Path, error: Option<&calip3d::Error>) {
            if let Some(e) = error {
                assert!(e.to_string().contains(&file.display().to_string()), "{e}");
                self.failed
                    .push(file.file_name().unwrap().to_string_lossy().into());
            }
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("scans");
    std::fs::create_dir(&data).unwrap();
    mixed_folder(&data);
    let files = calip3d::load::expand_inputs(&[data.display().to_string()]).unwrap();
    assert_eq!(files.len(), 7);
    let classifier = Classifier::builder()
        .model(tiny_model().display().to_string())
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    let classes = classifier.classes(&["box", "pole", "plate"]).unwrap();
    let out = dir.path().join("results.jsonl");
    assert!(BatchJob::new(dir.path().join("results.txt")).is_err());
    let job = BatchJob::new(&out)
        .unwrap()
        .stream(StreamOptions::new(2, 0))
        .top_k(2);

    let mut seen = Seen::default();
    let report = job
        .run(&classifier, &classes, files.clone(), &mut seen)
        .unwrap();
    assert_eq!(
        (report.processed, report.succeeded, report.failed),
        (7, 3, 4)
    );
    assert_eq!((report.results.records, report.results.failed), (7, 4));
    assert_eq!(seen.started, [(7, 0)]);
    seen.failed.sort();
    assert_eq!(
        seen.failed,
        ["empty.las", "magic.ply", "truncated.ply", "zero.ply"]
    );
    let records = json_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(records.len(), 7);
    assert!(records
        .iter()
        .filter(|r| r["ok"] == true)
        .all(|r| r["top"].as_array().unwrap().len() == 2));

    // Resume: the three good files are done, the four failed ones are tried again (and fail).
    let mut seen = Seen::default();
    let resumed = job.clone().resume(true);
    let report = resumed
        .run(&classifier, &classes, files.clone(), &mut seen)
        .unwrap();
    assert_eq!((report.processed, report.already_done), (4, 3));
    assert_eq!(seen.started, [(4, 3)]);
    assert_eq!((report.results.records, report.results.failed), (7, 4));

    // A run died while reading good1.ply alone: the journal says reading started, never ended.
    let good1 = data.join("good1.ply").display().to_string();
    std::fs::write(
        calip3d::batch::journal_path(&out),
        format!("{{\"event\":\"reading\",\"file\":{good1:?}}}\n"),
    )
    .unwrap();
    std::fs::write(&out, "").unwrap();
    let mut seen = Seen::default();
    let report = resumed
        .run(&classifier, &classes, files, &mut seen)
        .unwrap();
    assert_eq!(seen.crashed, std::slice::from_ref(&good1));
    assert_eq!(report.crashed_before, std::slice::from_ref(&good1));
    assert_eq!(
        report.processed, 6,
        "every file but the one a reader crashed in"
    );
    let records = json_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(records.len(), 7);
    let crashed = records
        .iter()
        .find(|r| r["file"] == good1.as_str())
        .unwrap();
    assert_eq!(crashed["ok"], false);
    assert!(crashed["error"].as_str().unwrap().contains(READER_CRASHED));
}
