//! Label a LAS/LAZ tile's objects and write the labels back into its points: a thin use of
//! [`calip3d::scene`] (what `calip3d scene IN --out-cloud OUT` does).
//!
//! Every point keeps its record and gains the extra-bytes fields `ClusterID`, `calip3d_class`
//! and `calip3d_prob` (see `calip3d::scene::write`).
//!
//! ```text
//! cargo run --release --example label_las -- scan.laz labelled.laz MODEL
//! ```

use calip3d::classify::Classifier;
use calip3d::load::{load, LoadOptions};
use calip3d::scene::{write::write_labelled, SceneOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, model] = args.as_slice() else {
        eprintln!("usage: label_las IN.las OUT.las MODEL");
        std::process::exit(1);
    };
    let classifier = Classifier::builder().model(model).build()?;
    let classes = classifier.classes(&["building", "tree", "car", "power line"])?;
    // Scenes need every point.
    let all = LoadOptions {
        max_points: 0,
        ..Default::default()
    };
    let cloud = load(input.as_ref(), &all)?;
    let scene = classifier.classify_scene(&cloud, &classes, &SceneOptions::default())?;
    for o in &scene.objects {
        println!(
            "object {}: {} points at {:.1}, {:.1} → {} ({:.2})",
            o.cluster_id,
            o.points,
            o.centroid[0],
            o.centroid[1],
            o.class(),
            o.probability()
        );
    }
    write_labelled(&cloud, &scene, output.as_ref(), None)?;
    println!("wrote {output}");
    Ok(())
}
