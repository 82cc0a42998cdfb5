//! Tuning profiles and few-shot adapters (METHOD.md §9): the protocol, parity with independent
//! numpy/torch implementations (scripts/fewshot_reference.py), and bad input.

use crate::common::{calip3d, json_lines, test_data, tiny_model, write_ply};
use calip3d::attend::{AdapterMode, BatchNorm, InterViewAdapter, Linear, TipCache};
use calip3d::tune::fit::{train_adapter, TrainConfig};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const CLASSES: [&str; 3] = ["chair", "table", "lamp"];

/// `root/<class>/train/*.ply` (and `test/` when asked) of procedural clouds.
fn dataset(root: &Path, per_class: usize, with_test: bool) {
    for (c, class) in CLASSES.iter().enumerate() {
        let splits: &[&str] = if with_test {
            &["train", "test"]
        } else {
            &["train"]
        };
        for split in splits {
            let dir = root.join(class).join(split);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..per_class {
                let kind = (c * 3 + i % 3) as u32;
                let mut pts = crate::common::box_cloud(kind, 300 + 17 * i);
                // A per-item twist, so items of a class differ.
                for p in &mut pts {
                    p[1] += 0.05 * i as f32 * p[0];
                }
                write_ply(&dir.join(format!("{class}_{i:02}.ply")), &pts);
            }
        }
    }
}

/// Copies the files `names` of the committed dataset fixture `rel` into `to`.
fn copy_fixture(rel: &str, names: &[&str], to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in names {
        std::fs::copy(test_data(rel).join(name), to.join(name)).unwrap();
    }
}

fn model() -> String {
    tiny_model().display().to_string()
}

fn base_args(model: &str) -> Vec<&str> {
    vec![
        "--model",
        model,
        "--projection",
        "pointclip",
        "--device",
        "cpu",
        "--max-points",
        "256",
        "--quiet",
    ]
}

fn run_ok(args: &[&str]) -> String {
    let out = calip3d(args);
    assert!(
        out.status.success(),
        "calip3d {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_err(args: &[&str]) -> String {
    let out = calip3d(args);
    assert!(!out.status.success(), "calip3d {args:?} should have failed");
    String::from_utf8(out.stderr).unwrap()
}

fn tune_profile(dir: &Path, data: &Path) -> PathBuf {
    let m = model();
    let profile = dir.join("profile.json");
    let mut args = vec![
        "tune",
        data.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
    ];
    args.extend(base_args(&m));
    args.extend(["--val-fraction", "0.5", "--out", profile.to_str().unwrap()]);
    run_ok(&args);
    profile
}

#[test]
fn tune_reads_only_the_training_split() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, 4, false); // no test split at all
    let profile = tune_profile(dir.path(), &data);
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    assert_eq!(p["format"], "calip3d-profile/1");
    assert_eq!(p["search_on_test"], false);
    assert_eq!(p["searched_on"]["split"], "train");
    assert_eq!(p["searched_on"]["split_size"], 12);
    // round(0.5 · 4) = 2 per class.
    assert_eq!(p["searched_on"]["validation_size"], 6);
    assert_eq!(p["made_for"]["projection"], "pointclip");
    assert_eq!(p["made_for"]["views"], 6);
    assert_eq!(p["settings"]["view_weights"].as_array().unwrap().len(), 6);
    let before = p["validation"]["before"]["top1"].as_f64().unwrap();
    let after = p["validation"]["after"]["top1"].as_f64().unwrap();
    assert!(after >= before, "{before} -> {after}");
    // No temporary file is left beside the profile.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // The test split is refused unless asked for, and stamped when it is.
    let m = model();
    let out = dir.path().join("test_profile.json");
    let mut args = vec![
        "tune",
        data.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
    ];
    args.extend(base_args(&m));
    args.extend(["--split", "test", "--out", out.to_str().unwrap()]);
    let e = run_err(&args);
    assert!(e.contains("needs --search-on-test"), "{e}");
    assert!(!out.exists());
    let test_data = dir.path().join("with_test");
    dataset(&test_data, 2, true);
    let mut args = vec![
        "tune",
        test_data.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
    ];
    args.extend(base_args(&m));
    args.extend([
        "--split",
        "test",
        "--search-on-test",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = run_ok(&args);
    assert!(stdout.starts_with("SEARCHED ON THE TEST SET"), "{stdout}");
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(p["search_on_test"], true);
    assert_eq!(p["searched_on"]["split"], "test");
    // Using it needs the flag too, and is stamped.
    let cloud = test_data.join("chair/train/chair_00.ply");
    let mut classify = vec![
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "chair,lamp",
    ];
    classify.extend(base_args(&m));
    classify.extend(["--profile", out.to_str().unwrap()]);
    let e = run_err(&classify);
    assert!(
        e.contains("this profile was searched on the test set; pass --search-on-test"),
        "{e}"
    );
    classify.push("--search-on-test");
    let o = calip3d(&classify);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("SEARCHED ON THE TEST SET"));
    // Its machine-readable records carry the stamp; records without such a profile do not.
    classify.push("--json");
    let stamped = json_lines(&run_ok(&classify));
    assert_eq!(
        stamped[0]["stamp"],
        calip3d::classify::profile::TEST_SEARCH_STAMP
    );
    let plain_args: Vec<&str> = classify
        .iter()
        .copied()
        .filter(|a| *a != "--search-on-test" && *a != "--profile" && *a != out.to_str().unwrap())
        .collect();
    let plain = json_lines(&run_ok(&plain_args));
    assert!(plain[0].get("stamp").is_none(), "{}", plain[0]);
}

#[test]
fn a_profile_gives_the_logits_of_its_settings_as_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, 3, false);
    let profile = tune_profile(dir.path(), &data);
    // Non-default settings, so the comparison cannot pass by both using the defaults.
    let mut p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    p["settings"]["alpha"] = 0.25.into();
    p["settings"]["beta2"] = 0.7.into();
    p["settings"]["beta3"] = 0.05.into();
    p["settings"]["view_weights"] = serde_json::json!([1.0, 0.25, 0.5, 0.75, 1.0, 0.5]);
    p["settings"]["templates"] = serde_json::json!(["a photo of a {}."]);
    std::fs::write(&profile, p.to_string()).unwrap();
    let cloud = data.join("lamp/train/lamp_01.ply");
    let m = model();
    let mut with_profile = vec![
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
        "--json",
    ];
    with_profile.extend(base_args(&m));
    with_profile.extend(["--profile", profile.to_str().unwrap()]);
    let mut with_flags = vec![
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
        "--json",
    ];
    with_flags.extend(base_args(&m));
    with_flags.extend([
        "--alpha",
        "0.25",
        "--beta2",
        "0.7",
        "--beta3",
        "0.05",
        "--view-weights",
        "1,0.25,0.5,0.75,1,0.5",
        "--template",
        "a photo of a {}.",
    ]);
    let a = json_lines(&run_ok(&with_profile));
    let b = json_lines(&run_ok(&with_flags));
    assert_eq!(a[0]["logits"], b[0]["logits"]);
    // The same settings through the library: the builder (its explicit α and β win over the
    // profile's whatever the order of the calls) and `Settings`, as values and as a profile.
    let logits = |c: calip3d::classify::Classifier| -> Vec<f32> {
        let classes = c.classes(&["chair", "table", "lamp"]).unwrap();
        c.classify_file(&cloud, &classes).unwrap().logits
    };
    let cli: Vec<f32> = serde_json::from_value(a[0]["logits"].clone()).unwrap();
    let loaded = calip3d::classify::Profile::load(&profile).unwrap();
    let builder = || {
        calip3d::classify::Classifier::builder()
            .model(m.as_str())
            .projection(calip3d::project::Projection::PointClip)
            .device(calip3d::project::DeviceChoice::Cpu)
            .max_points(256)
    };
    let params = calip3d::attend::CalipParams {
        alpha_s: 0.25,
        alpha_t: 0.25,
        beta2: 0.7,
        beta3: 0.05,
        ..Default::default()
    };
    let other = calip3d::attend::CalipParams {
        beta2: 0.1,
        ..params
    };
    let by_profile = builder().profile(loaded.clone()).build().unwrap();
    assert_eq!(logits(by_profile), cli);
    // Explicit values given before the profile are not lost (β2 = 0.1 then wins).
    let before = builder()
        .params(other)
        .profile(loaded.clone())
        .build()
        .unwrap();
    let after = builder().profile(loaded).params(other).build().unwrap();
    let (before, after) = (logits(before), logits(after));
    assert_eq!(before, after);
    assert_ne!(before, cli);
    let mut settings = calip3d::classify::Settings::default();
    settings.model = Some(m.clone());
    settings.projection = Some(calip3d::project::Projection::PointClip);
    settings.device = Some(calip3d::project::DeviceChoice::Cpu);
    settings.max_points = Some(256);
    settings.alpha = Some(0.25);
    settings.beta2 = Some(0.7);
    settings.beta3 = Some(0.05);
    settings.view_weights = Some(vec![1.0, 0.25, 0.5, 0.75, 1.0, 0.5]);
    settings.templates = Some(vec!["a photo of a {}.".into()]);
    let by_values = calip3d::classify::Classifier::new(&settings).unwrap();
    assert_eq!(logits(by_values), cli);
    let mut from_file = calip3d::classify::Settings::default();
    from_file.model = settings.model.clone();
    from_file.projection = settings.projection;
    from_file.device = settings.device;
    from_file.max_points = settings.max_points;
    from_file.profile = Some(profile.clone());
    let by_file = calip3d::classify::Classifier::new(&from_file).unwrap();
    assert_eq!(logits(by_file), cli);
    let mut plain = vec![
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
        "--json",
    ];
    plain.extend(base_args(&m));
    let c = json_lines(&run_ok(&plain));
    assert_ne!(a[0]["logits"], c[0]["logits"]);
    // An explicit flag overrides the profile.
    with_profile.extend(["--beta2", "0"]);
    let mut flags_b2 = with_flags.clone();
    let i = flags_b2.iter().position(|s| *s == "0.7").unwrap();
    flags_b2[i] = "0";
    let d = json_lines(&run_ok(&with_profile));
    let e = json_lines(&run_ok(&flags_b2));
    assert_eq!(d[0]["logits"], e[0]["logits"]);
    assert_ne!(d[0]["logits"], a[0]["logits"]);

    // eval --report: the three rows and where each was chosen.
    let report = dir.path().join("report.md");
    let mut ev = vec![
        "eval",
        data.to_str().unwrap(),
        // The fixture has a training split only; eval takes the test split unless told.
        "--split",
        "train",
        "--classes",
        "chair,table,lamp",
    ];
    ev.extend(base_args(&m));
    ev.extend([
        "--profile",
        profile.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    run_ok(&ev);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("| CLIP (PointCLIP zero-shot"), "{text}");
    assert!(text.contains("| CALIP (β2 = 1.12"), "{text}");
    assert!(text.contains("| CALIP + profile |"), "{text}");
    assert!(text.contains("train split of"), "{text}");
    assert!(text.contains("| lamp | 3 |"), "{text}");
}

#[test]
fn profiles_that_do_not_fit_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, 2, false);
    let profile = tune_profile(dir.path(), &data);
    let cloud = data.join("lamp/train/lamp_01.ply");
    let m = model();
    let mut args = vec![
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "chair,sofa",
    ];
    args.extend(base_args(&m));
    args.extend(["--profile", profile.to_str().unwrap()]);
    let e = run_err(&args);
    assert!(
        e.contains("class `sofa` is not one of the 3 classes the profile was searched with (chair, table, lamp)"),
        "{e}"
    );
    let mut args = vec![
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "chair,lamp",
    ];
    args.extend(base_args(&m));
    let mut realistic = args.clone();
    let i = realistic.iter().position(|s| *s == "pointclip").unwrap();
    realistic[i] = "realistic";
    realistic.extend(["--profile", profile.to_str().unwrap()]);
    let e = run_err(&realistic);
    assert!(
        e.contains("profile was made for projection `pointclip`, not `realistic`"),
        "{e}"
    );
    let mut p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    p["made_for"]["model"] = "openai/clip-vit-base-patch16".into();
    let other = dir.path().join("other.json");
    std::fs::write(&other, p.to_string()).unwrap();
    args.extend(["--profile", other.to_str().unwrap()]);
    let e = run_err(&args);
    assert!(
        e.contains("profile was made for model `openai/clip-vit-base-patch16`, not"),
        "{e}"
    );
    std::fs::write(&other, "{\"format\": 3}").unwrap();
    let e = run_err(&args);
    assert!(e.contains("other.json: not a calip3d profile"), "{e}");
}

fn read_safetensors(path: &Path) -> (HashMap<String, Tensor>, HashMap<String, String>) {
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).unwrap();
    (tensors, meta.metadata().clone().unwrap_or_default())
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn labels_of(t: &Tensor) -> Vec<usize> {
    t.to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|&l| l as usize)
        .collect()
}

/// Exported features of the committed fixture dataset: 3 classes × 5 training clouds, 2 shots.
fn export_features(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    dataset(&data, 5, false);
    let m = model();
    let out = dir.join("cache.safetensors");
    let features = dir.join("features.safetensors");
    let mut args = vec![
        "fit",
        data.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
    ];
    args.extend(base_args(&m));
    args.extend([
        "--shots",
        "2",
        "--method",
        "cache",
        "--out",
        out.to_str().unwrap(),
        "--export-features",
        features.to_str().unwrap(),
    ]);
    let stdout = run_ok(&args);
    assert!(stdout.contains("cache: 6 keys"), "{stdout}");
    features
}

#[test]
fn cache_logits_equal_numpy_on_calip3ds_features() {
    let dir = tempfile::tempdir().unwrap();
    let features = export_features(dir.path());
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tune");
    if std::env::var_os("CALIP3D_WRITE_FIXTURES").is_some() {
        std::fs::copy(&features, fixture.join("cache_features.safetensors")).unwrap();
    }
    // The committed features are what calip3d exports today.
    let (now, _) = read_safetensors(&features);
    let (t, _) = read_safetensors(&fixture.join("cache_features.safetensors"));
    for name in ["shots.global", "val.global", "val.logits"] {
        assert!(max_diff(&now[name], &t[name]) < 1e-4, "{name} changed");
    }
    let (expected, _) = read_safetensors(&fixture.join("cache_expected.safetensors"));
    let weights = t["view_weights"].to_vec1::<f32>().unwrap();
    let views = weights.len();
    let keys = TipCache::cloud_features(&t["shots.global"], views, &weights).unwrap();
    let labels = labels_of(&t["shots.labels"]);
    let f = TipCache::cloud_features(&t["val.global"], views, &weights).unwrap();
    for (alpha, beta) in [(1.0f32, 1.0f32), (2.5, 3.0), (0.5, 8.0)] {
        let cache = TipCache::new(&keys, &labels, 3, alpha, beta).unwrap();
        let extra = cache.logits(&f).unwrap();
        let name = format!("cache.{alpha:?}.{beta:?}");
        assert!(max_diff(&extra, &expected[&name]) < 1e-4, "{name}");
        let logits = (&t["val.logits"] + &extra).unwrap();
        assert!(max_diff(&logits, &expected[&format!("logits.{alpha:?}.{beta:?}")]) < 1e-3);
    }
}

fn adapter_from(t: &HashMap<String, Tensor>, prefix: &str) -> InterViewAdapter {
    let g = |n: &str| t[&format!("{prefix}.{n}")].clone();
    let bn = |n: &str| BatchNorm {
        weight: g(&format!("{n}.weight")),
        bias: g(&format!("{n}.bias")),
        running_mean: g(&format!("{n}.running_mean")),
        running_var: g(&format!("{n}.running_var")),
    };
    let lin = |n: &str| Linear {
        weight: g(&format!("{n}.weight")),
        bias: g(&format!("{n}.bias")),
    };
    InterViewAdapter {
        views: 3,
        dim: 16,
        bn_in: bn("bn_in"),
        global: lin("global"),
        bn_global: bn("bn_global"),
        view_in: lin("view_in"),
        view_out: lin("view_out"),
        residual: 0.6,
    }
}

fn reference() -> HashMap<String, Tensor> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tune/adapter_reference.safetensors");
    read_safetensors(&path).0
}

#[test]
fn adapter_forward_equals_torch() {
    let t = reference();
    let adapter = adapter_from(&t, "init");
    adapter.validate().unwrap();
    let out = adapter.forward(&t["x"]).unwrap();
    let d = max_diff(&out, &t["eval.adapted"]);
    assert!(d < 1e-4, "max difference {d}");
    // Training mode differs (batch statistics): the comparison above is not vacuous.
    let (train_out, stats) = adapter
        .forward_mode(&t["x"], AdapterMode::Train { dropout: None })
        .unwrap();
    assert!(stats.is_some());
    assert!(max_diff(&train_out, &t["eval.adapted"]) > 1e-3);
}

#[test]
fn adapter_training_steps_equal_torch() {
    let t = reference();
    let config = TrainConfig {
        epochs: 4,
        batch: 8,
        dropout: 0.0,
        ..TrainConfig::default()
    };
    let weights = t["view_weights"].to_vec1::<f32>().unwrap();
    let mut losses = Vec::new();
    let trained = train_adapter(
        &t["x"],
        &labels_of(&t["labels"]),
        &t["text"],
        &weights,
        &config,
        Some(adapter_from(&t, "init")),
        |_, loss| losses.push(loss),
    )
    .unwrap();
    let want = adapter_from(&t, "trained");
    let pairs = [
        ("bn_in.weight", &trained.bn_in.weight, &want.bn_in.weight),
        ("bn_in.bias", &trained.bn_in.bias, &want.bn_in.bias),
        (
            "bn_in.running_mean",
            &trained.bn_in.running_mean,
            &want.bn_in.running_mean,
        ),
        (
            "bn_in.running_var",
            &trained.bn_in.running_var,
            &want.bn_in.running_var,
        ),
        ("global.weight", &trained.global.weight, &want.global.weight),
        ("global.bias", &trained.global.bias, &want.global.bias),
        (
            "bn_global.weight",
            &trained.bn_global.weight,
            &want.bn_global.weight,
        ),
        (
            "bn_global.running_var",
            &trained.bn_global.running_var,
            &want.bn_global.running_var,
        ),
        (
            "view_in.weight",
            &trained.view_in.weight,
            &want.view_in.weight,
        ),
        (
            "view_out.weight",
            &trained.view_out.weight,
            &want.view_out.weight,
        ),
        ("view_out.bias", &trained.view_out.bias, &want.view_out.bias),
    ];
    for (name, got, expected) in pairs {
        let d = max_diff(got, expected);
        assert!(d < 1e-3, "{name}: max difference {d}");
    }
    // Training moved the weights (so equality with torch is not equality with the start).
    assert!(
        max_diff(
            &trained.view_out.weight,
            &adapter_from(&t, "init").view_out.weight
        ) > 1e-3
    );
    let want_losses = t["losses"].to_vec1::<f32>().unwrap();
    for (a, b) in losses.iter().zip(&want_losses) {
        assert!((a - b).abs() < 1e-3, "loss {a} vs torch {b}");
    }
}

#[test]
fn fit_and_adapter_end_to_end_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, 3, false);
    let m = model();
    let out = dir.path().join("adapter.safetensors");
    let mut args = vec![
        "fit",
        data.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
    ];
    args.extend(base_args(&m));
    args.extend([
        "--method",
        "adapter",
        "--epochs",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    // 3 per class, 1 of them for validation: 2 shots at most.
    let mut too_many = args.clone();
    too_many.extend(["--shots", "3"]);
    let e = run_err(&too_many);
    assert!(
        e.contains(
            "class `chair` has 2 training items outside the validation subset, fewer than 3 shots"
        ),
        "{e}"
    );
    assert!(!out.exists());
    args.extend(["--shots", "2"]);
    run_ok(&args);
    let (_, meta) = read_safetensors(&out);
    let provenance: serde_json::Value = serde_json::from_str(&meta["calip3d.fewshot"]).unwrap();
    assert_eq!(provenance["method"], "adapter");
    assert_eq!(provenance["shots"], 2);
    assert_eq!(provenance["projection"], "pointclip");
    assert_eq!(provenance["classes"], serde_json::json!(CLASSES));

    let cloud = data.join("lamp/train/lamp_01.ply");
    let mut classify = vec![
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "chair,table,lamp",
        "--json",
    ];
    classify.extend(base_args(&m));
    let plain = json_lines(&run_ok(&classify));
    let mut adapted = classify.clone();
    adapted.extend(["--adapter", out.to_str().unwrap()]);
    let with = json_lines(&run_ok(&adapted));
    assert_ne!(plain[0]["logits"], with[0]["logits"]);
    // Other classes than it was fitted for, or another projection: clear errors.
    let mut other = adapted.clone();
    other[3] = "chair,table";
    let e = run_err(&other);
    assert!(
        e.contains("few-shot adapter (adapter) was fitted for the classes chair,table,lamp, not chair,table"),
        "{e}"
    );
    let i = adapted.iter().position(|s| *s == "pointclip").unwrap();
    adapted[i] = "realistic";
    let e = run_err(&adapted);
    assert!(
        e.contains(
            "few-shot adapter (adapter) was made for projection `pointclip`, not `realistic`"
        ),
        "{e}"
    );
    // A truncated adapter file names the file.
    let bytes = std::fs::read(&out).unwrap();
    let broken = dir.path().join("broken.safetensors");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    classify.extend(["--adapter", broken.to_str().unwrap()]);
    let e = run_err(&classify);
    assert!(
        e.contains("broken.safetensors: not a calip3d few-shot adapter"),
        "{e}"
    );
}

/// The HDF5 layouts of the benchmarks tune too, with their test files absent: only the training
/// split is listed and read.
#[test]
fn tune_reads_the_training_split_of_hdf5_layouts() {
    use calip3d::load::dataset::{Dataset, DatasetOptions, Split};
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let tune = |data: &Path, classes: &str, out: &Path| {
        let mut args = vec!["tune", data.to_str().unwrap(), "--classes", classes];
        args.extend(base_args(&m));
        args.extend(["--val-fraction", "0.5", "--out", out.to_str().unwrap()]);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };

    // modelnet40_ply_hdf5_2048 without ply_data_test*.h5 (test_files.txt still names them).
    let modelnet = dir.path().join("modelnet40_ply_hdf5_2048");
    copy_fixture(
        "datasets/modelnet40_ply_hdf5_2048",
        &[
            "shape_names.txt",
            "train_files.txt",
            "test_files.txt",
            "ply_data_train0.h5",
        ],
        &modelnet,
    );
    let out = dir.path().join("modelnet.json");
    run_ok(&as_strs(&tune(&modelnet, "dataset", &out)));
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let train = Dataset::open(
        &modelnet,
        &DatasetOptions {
            split: Some(Split::Train),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(p["searched_on"]["split"], "train");
    assert_eq!(p["searched_on"]["split_size"], train.items().len());
    assert_eq!(p["search_on_test"], false);
    // eval --report on the h5 test split of the committed fixture, with that profile.
    let report = dir.path().join("report.md");
    let fixture = test_data("datasets/modelnet40_ply_hdf5_2048");
    let mut ev = vec!["eval", fixture.to_str().unwrap(), "--classes", "dataset"];
    ev.extend(base_args(&m));
    ev.extend([
        "--profile",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    run_ok(&ev);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("| CALIP + profile |"), "{text}");
    assert!(text.contains("train split of"), "{text}");
    assert!(
        text.contains("(6 clouds)"),
        "the h5 test split's 6 shapes: {text}"
    );
    // --split test needs the flag; with it, the missing test files are named.
    let mut args = tune(&modelnet, "dataset", &dir.path().join("t.json"));
    args.extend(["--split".into(), "test".into(), "--search-on-test".into()]);
    let e = run_err(&as_strs(&args));
    assert!(e.contains("ply_data_test0.h5"), "{e}");

    // ScanObjectNN without its test file: its files store no names.
    let scan = dir.path().join("main_split");
    copy_fixture(
        "datasets/scanobjectnn/main_split",
        &["training_objectdataset_augmentedrot_scale75.h5"],
        &scan,
    );
    let out = dir.path().join("scan.json");
    run_ok(&as_strs(&tune(&scan, "scanobjectnn", &out)));
    assert!(out.is_file());
    let e = run_err(&as_strs(&tune(
        &scan,
        "dataset",
        &dir.path().join("x.json"),
    )));
    assert!(e.contains("stores no class names"), "{e}");

    // One bare h5 file has no split to keep apart.
    let bare = modelnet.join("ply_data_train0.h5");
    let e = run_err(&as_strs(&tune(
        &bare,
        "modelnet40",
        &dir.path().join("y.json"),
    )));
    assert!(e.contains("has no train/test split"), "{e}");
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
