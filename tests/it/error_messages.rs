//! No error message repeats its cause: one error of every kind that names a file or wraps an I/O
//! error, printed as the CLI prints it ([`calip3d::error_message`]), says each cause once and
//! names the file.

use calip3d::Error;
use std::path::Path;

/// Every link of `e`'s chain appears exactly once in its message, and the message names `name`.
#[track_caller]
fn check(e: Error, name: &str) {
    let message = calip3d::error_message(&e);
    assert!(message.contains(name), "{message}");
    let mut link: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut links = 0;
    while let Some(l) = link {
        let text = l.to_string();
        if !text.is_empty() {
            assert_eq!(message.matches(&text).count(), 1, "`{text}` in `{message}`");
        }
        links += 1;
        link = l.source();
    }
    assert!(links >= 1);
    // The message is what the CLI prints: the same text through anyhow's chain.
    let any = anyhow::Error::from(e);
    assert_eq!(calip3d::chain_message(any.chain()), message);
}

#[test]
fn every_error_kind_says_its_cause_once_and_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = |name: &str| dir.path().join(name);

    // Reading clouds: a missing file, a truncated PLY.
    let e = calip3d::load::load(&missing("gone.ply"), &Default::default()).unwrap_err();
    check(e.into(), "gone.ply");
    let truncated = dir.path().join("short.ply");
    std::fs::write(
        &truncated,
        "ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\nproperty float y\nproperty float z\nend_header\n\0\0",
    )
    .unwrap();
    let e = calip3d::load::load(&truncated, &Default::default()).unwrap_err();
    check(e.into(), "short.ply");

    // The few-shot adapter of `eval --adapter missing.safetensors` (the message that said "No
    // such file or directory (os error 2)" twice), and a profile.
    let e = calip3d::attend::FewShotAdapter::load(&missing("missing.safetensors")).unwrap_err();
    let message = calip3d::error_message(&Error::from(e));
    assert_eq!(message.matches("os error 2").count(), 1, "{message}");
    let e = calip3d::attend::FewShotAdapter::load(&missing("missing.safetensors")).unwrap_err();
    check(e.into(), "missing.safetensors");
    let e = calip3d::classify::Profile::load(&missing("p.json")).unwrap_err();
    check(e.into(), "p.json");

    // Datasets, input lists, class lists, models.
    let e = calip3d::load::dataset::Dataset::open(&missing("modelnet"), &Default::default())
        .unwrap_err();
    check(e.into(), "modelnet");
    let e = calip3d::load::expand_inputs(&[missing("tiles").display().to_string()]).unwrap_err();
    check(e.into(), "tiles");
    let classes = missing("classes.txt");
    let e = calip3d::classify::ClassList::from_file(&classes)
        .specs(&["{}".to_string()])
        .unwrap_err();
    check(e.into(), "classes.txt");
    let e = match calip3d::encode::ClipEncoder::load(
        missing("model").to_str().unwrap(),
        &candle_core::Device::Cpu,
    ) {
        Err(e) => e,
        Ok(_) => panic!("a missing model loaded"),
    };
    check(e.into(), "model");

    // An I/O error of the pipeline itself.
    let e = Error::Io {
        path: Path::new("out/results.jsonl").to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied"),
    };
    check(e, "results.jsonl");
}
