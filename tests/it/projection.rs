//! Projections against cases computed by hand from METHOD.md §2–§3.

use calip3d::project::cpu::{self, DEPTH_BINS, REALISTIC_GRID, REALISTIC_SIZE};
use calip3d::project::resize::{clip_channels, source_index};
use calip3d::project::{cpu_depth_views, DeviceChoice, Projection, Projector, View, ViewSet};
use nalgebra::Point3;

fn identity() -> View {
    View::new(0.0, 0.0, 0.0, 0.0)
}

fn nonzero(img: &[f32], n: usize) -> Vec<(usize, usize, f32)> {
    img.iter()
        .enumerate()
        .filter(|(_, &v)| v != 0.0)
        .map(|(i, &v)| (i / n, i % n, v))
        .collect()
}

#[test]
fn a_single_point_lands_in_the_centre_pixel_of_every_pointclip_view() {
    let d = cpu_depth_views(
        Projection::PointClip,
        &ViewSet::preset(Projection::PointClip),
        &[Point3::new(3.0, -1.0, 7.0)],
    );
    assert_eq!((d.views, d.height, d.width), (6, 128, 128));
    for v in 0..6 {
        // Centred at the origin: z' = 1.6, u = w = 0, row = col = ceil(64 − 0.5) = 64; the
        // harmonic mean of one depth is the depth.
        assert_eq!(
            nonzero(d.view(v), 128),
            vec![(64, 64, 1.0 / (1.0 / 1.6f32))],
            "view {v}"
        );
    }
}

#[test]
fn two_points_in_one_pixel_give_the_harmonic_mean_of_their_depths() {
    let img = cpu::pointclip_view(
        &[Point3::new(0.0, 0.0, 0.0), Point3::new(0.0, 0.0, 0.4)],
        &identity(),
    );
    let expected = 2.0 / (1.0 / 1.6f32 + 1.0 / 2.0f32);
    assert_eq!(nonzero(&img, 128), vec![(64, 64, expected)]);
    assert!((expected - 1.777_777_8).abs() < 1e-6);
}

#[test]
fn a_point_on_a_pixel_boundary_takes_the_lower_row() {
    // z' = 2, u = x / 2; (u + 1) · 64 − 0.5 is exactly 64 for x = 1/64: ceil keeps 64.
    let on = cpu::pointclip_view(&[Point3::new(0.015625, 0.0, 0.4)], &identity());
    assert_eq!(nonzero(&on, 128), vec![(64, 64, 2.0)]);
    let past = cpu::pointclip_view(&[Point3::new(0.0157, 0.0, 0.4)], &identity());
    assert_eq!(nonzero(&past, 128), vec![(65, 64, 2.0)]);
    // Rows come from x, columns from y.
    let col = cpu::pointclip_view(&[Point3::new(0.0, 0.0157, 0.4)], &identity());
    assert_eq!(nonzero(&col, 128), vec![(64, 65, 2.0)]);
}

#[test]
fn points_behind_the_camera_or_outside_the_image_leave_an_empty_pointclip_view() {
    let img = cpu::pointclip_view(
        &[Point3::new(0.0, 0.0, -2.0), Point3::new(5.0, 0.0, 0.0)],
        &identity(),
    );
    assert!(img.iter().all(|&v| v == 0.0));
}

#[test]
fn an_empty_realistic_view_is_all_white() {
    let grid = vec![0f32; DEPTH_BINS * REALISTIC_GRID * REALISTIC_GRID];
    let img = cpu::squeeze(&cpu::smooth(&cpu::densify(&grid)));
    assert_eq!(img.len(), REALISTIC_SIZE * REALISTIC_SIZE);
    assert!(img.iter().all(|&v| v == 1.0));
}

#[test]
fn gaussian_weights_match_the_method() {
    let w = cpu::gaussian_3x3();
    assert!((w[1][1] - 0.1196).abs() < 5e-5, "{w:?}");
    assert!((w[0][1] - 0.1131).abs() < 5e-5 && (w[1][0] - w[0][1]).abs() < 1e-9);
    assert!((w[0][0] - 0.1070).abs() < 5e-5);
    let sum: f32 = w.iter().flatten().sum();
    assert!((sum - 1.0).abs() < 1e-6);
}

#[test]
fn one_grid_cell_densifies_to_a_7x7_block_then_smooths_with_the_gaussian() {
    let g = REALISTIC_GRID;
    let mut grid = vec![0f32; DEPTH_BINS * g * g];
    grid[(4 * g + 50) * g + 60] = 3.5;
    let dense = cpu::densify(&grid);
    let s = REALISTIC_SIZE;
    let slice = &dense[4 * s * s..5 * s * s];
    // out[i][j] = max of in[i−2 ..= i+4][j−2 ..= j+4]: the cell (50, 60) reaches rows 46..=52 and
    // columns 56..=62.
    let block: Vec<(usize, usize)> = nonzero(slice, s).iter().map(|&(r, c, _)| (r, c)).collect();
    let expected: Vec<(usize, usize)> = (46..=52)
        .flat_map(|r| (56..=62).map(move |c| (r, c)))
        .collect();
    assert_eq!(block, expected);
    assert!(dense[..4 * s * s]
        .iter()
        .chain(&dense[5 * s * s..])
        .all(|&v| v == 0.0));

    let w = cpu::gaussian_3x3();
    let smooth = cpu::smooth(&dense);
    let at = |r: usize, c: usize| smooth[(4 * s + r) * s + c];
    assert!(
        (at(49, 59) - 3.5).abs() < 1e-5,
        "inside the block the weights sum to 1"
    );
    assert!(
        (at(45, 55) - 3.5 * w[0][0]).abs() < 1e-6,
        "diagonal neighbour of the corner"
    );
    assert!(
        (at(45, 59) - 3.5 * (w[0][0] + w[0][1] + w[0][2])).abs() < 1e-6,
        "above the top edge"
    );
    let corner = 3.5 * (w[1][1] + w[1][2] + w[2][1] + w[2][2]);
    assert!((at(46, 56) - corner).abs() < 1e-6);

    let img = cpu::squeeze(&smooth);
    assert_eq!(img[49 * s + 59], 0.0);
    assert!((img[45 * s + 55] - (1.0 - w[0][0])).abs() < 1e-6);
    assert_eq!(img[10 * s + 10], 1.0);
}

#[test]
fn an_axis_aligned_square_fills_its_box_in_the_realistic_view() {
    // A dense square in z = 0 seen along z: it spans x, y in [−0.8, 0.8] after normalisation,
    // i.e. grid rows and columns 12 ..= 101 (ceil(0.1 · 112) = 12, ceil(0.9 · 112) = 101), all at
    // depth d = (0.5 + 0.2) / 1.2 · 6 = 3.5.
    let mut pts = Vec::new();
    for i in 0..=200 {
        for j in 0..=200 {
            pts.push(Point3::new(
                i as f32 / 100.0 - 1.0,
                j as f32 / 100.0 - 1.0,
                0.0,
            ));
        }
    }
    let norm = cpu::realistic_normalised(&pts, &identity());
    let cells: std::collections::BTreeSet<(usize, usize, usize)> = norm
        .iter()
        .map(cpu::realistic_cell)
        .map(|(b, x, y, _)| (b, x, y))
        .collect();
    assert!(cells.iter().all(|&(b, _, _)| b == 4));
    let rows: Vec<usize> = cells.iter().map(|c| c.1).collect();
    assert_eq!(
        (rows.iter().min(), rows.iter().max()),
        (Some(&12), Some(&101))
    );
    assert!(norm
        .iter()
        .all(|p| (cpu::realistic_cell(p).3 - 3.5).abs() < 1e-6));

    let img = cpu::realistic_view(&pts, &identity());
    let s = REALISTIC_SIZE;
    // Densified rows 8 ..= 103 are inside the square: 0 (darkest) away from its border.
    assert_eq!(img[55 * s + 55], 0.0);
    assert_eq!(img[20 * s + 90], 0.0);
    assert_eq!(img[2 * s + 2], 1.0);
    assert_eq!(img[55 * s + 106], 1.0);
    assert!(
        img[55 * s + 104] > 0.0 && img[55 * s + 104] < 1.0,
        "the Gaussian blurs the border"
    );
}

#[test]
fn aligned_corner_resize_keeps_the_corners_and_ramps() {
    assert_eq!(source_index(0, 128, 224), (0, 1, 0.0));
    // In f32, 223 · (127 / 223) is 126.99999: the last pixel interpolates 126 and 127 with
    // weight ~1 on 127, as PyTorch's float32 resize does.
    let (a, b, t) = source_index(223, 128, 224);
    assert_eq!((a, b), (126, 127));
    assert!((t - 1.0).abs() < 1e-4);
    // A ramp along columns stays a ramp: out[i][j] = j · 127 / 223.
    let img: Vec<f32> = (0..128 * 128).map(|i| (i % 128) as f32).collect();
    let mut out = vec![0f32; 3 * 224 * 224];
    clip_channels(&img, 128, 224, false, &mut out);
    for j in [0usize, 1, 100, 223] {
        let expected = j as f32 * 127.0 / 223.0;
        for ch in 0..3 {
            assert!(
                (out[ch * 224 * 224 + 5 * 224 + j] - expected).abs() < 1e-3,
                "ch {ch} col {j}"
            );
        }
    }
}

#[test]
fn the_projector_checks_its_input_and_batches_clouds() {
    let p = Projector::new(
        Projection::Realistic,
        Projection::Realistic.views(),
        DeviceChoice::Cpu,
    )
    .unwrap();
    let a = [Point3::new(0.0f32, 0.0, 0.0), Point3::new(1.0, 2.0, 0.5)];
    let err = p.clip_input(&[&a, &[]], 224, false).unwrap_err();
    assert_eq!(err.to_string(), "cloud 1 has no points to project");
    let batch = p.clip_input(&[&a, &a], 224, false).unwrap();
    assert_eq!(batch.data.len(), 2 * 10 * 3 * 224 * 224);
    let half = batch.data.len() / 2;
    assert_eq!(batch.data[..half], batch.data[half..]);
}
