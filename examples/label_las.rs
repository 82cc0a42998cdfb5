//! Label a LAS/LAZ scan tile by tile and write the labels back into the file's points.
//!
//! The scan is cut into square tiles on the ground plane; each tile's points are classified
//! (all tiles in one batch) and every point gets its tile's class index in a new extra-bytes field
//! `calip3d_class` (described by a standard LAS extra-bytes VLR, so PDAL, laspy and LAStools read
//! it), leaving the ASPRS `classification` untouched.
//!
//! ```text
//! cargo run --release --example label_las -- scan.las labelled.las MODEL [TILE_METRES]
//! ```

use calip3d::classify::{classes, Classifier};
use calip3d::project::Projection;
use calip3d::{PointCloud, UpAxis};
use las::{Reader, Vlr, Writer};
use nalgebra::Point3;
use std::collections::BTreeMap;

/// One LAS 1.4 extra-bytes descriptor (192 bytes of record 4 of "LASF_Spec") of an unsigned byte.
fn extra_bytes_descriptor(name: &str, description: &str) -> Vec<u8> {
    let mut data = vec![0u8; 192];
    data[2] = 1; // data type 1: unsigned char
    data[4..4 + name.len().min(32)].copy_from_slice(&name.as_bytes()[..name.len().min(32)]);
    let d = description.as_bytes();
    data[160..160 + d.len().min(32)].copy_from_slice(&d[..d.len().min(32)]);
    data
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, model, rest @ ..] = args.as_slice() else {
        eprintln!("usage: label_las IN.las OUT.las MODEL [TILE_METRES]");
        std::process::exit(1);
    };
    let tile: f64 = rest.first().map(|t| t.parse()).transpose()?.unwrap_or(25.0);
    let names = "ground,building,tree,car,power line";

    let mut reader = Reader::from_path(input)?;
    let header = reader.header().clone();
    let points: Vec<las::Point> = reader.read_all()?.points().collect::<Result<_, _>>()?;
    if points.is_empty() {
        return Err(format!("{input}: no points").into());
    }

    // Group points by tile, re-centred on the scan's minimum corner in f64 before going to f32.
    let min = header.bounds().min;
    let mut tiles: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        let key = (
            ((p.x - min.x) / tile).floor() as i64,
            ((p.y - min.y) / tile).floor() as i64,
        );
        tiles.entry(key).or_default().push(i);
    }
    let clouds: Vec<PointCloud> = tiles
        .values()
        .map(|idx| {
            let pts = idx.iter().map(|&i| {
                let p = &points[i];
                Point3::new(
                    (p.x - min.x) as f32,
                    (p.y - min.y) as f32,
                    (p.z - min.z) as f32,
                )
            });
            PointCloud::from_points(pts, UpAxis::Z)
        })
        .collect();

    let classifier = Classifier::builder()
        .model(model)
        .projection(Projection::Realistic)
        .build()?;
    let templates = classes::default_templates(Projection::Realistic);
    let classes = classifier.class_set(classes::resolve(names, &templates)?)?;
    let refs: Vec<&PointCloud> = clouds.iter().collect();
    let predictions = classifier.classify_many(&refs, &classes)?;

    let mut label = vec![0u8; points.len()];
    for ((key, idx), p) in tiles.iter().zip(&predictions) {
        let (class, probability) = p.best();
        let k = classes.names().iter().position(|c| c == class).unwrap_or(0) as u8;
        println!(
            "tile {key:?}: {} points → {class} ({probability:.2})",
            idx.len()
        );
        for &i in idx {
            label[i] = k;
        }
    }

    let mut builder = las::Builder::from(header);
    builder.point_format.extra_bytes += 1;
    let descriptor = extra_bytes_descriptor("calip3d_class", "calip3d class index");
    // Descriptors of all extra bytes share one VLR; ours describes the last byte.
    match builder
        .vlrs
        .iter_mut()
        .find(|v| v.user_id == "LASF_Spec" && v.record_id == 4)
    {
        Some(vlr) => vlr.data.extend_from_slice(&descriptor),
        None => builder.vlrs.push(Vlr {
            user_id: "LASF_Spec".into(),
            record_id: 4,
            description: "extra bytes".into(),
            data: descriptor,
        }),
    }
    if builder.version < las::Version::new(1, 4) {
        // Extra-bytes descriptors are a LAS 1.4 feature.
        builder.version = las::Version::new(1, 4);
    }
    let mut writer = Writer::from_path(output, builder.into_header()?)?;
    for (mut p, k) in points.into_iter().zip(label) {
        p.extra_bytes.push(k);
        writer.write_point(p)?;
    }
    writer.close()?;
    println!("wrote {output} with field calip3d_class ({names})");
    Ok(())
}
