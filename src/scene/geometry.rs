//! An object's footprint: the convex hull of its points seen from above, its area, and the
//! smallest-area rectangle around it (the oriented bounding box a detection user compares).
//!
//! The hull is Andrew's monotone chain; the rectangle is found by rotating calipers (Freeman &
//! Shapira 1975: the smallest-area enclosing rectangle has a side on a hull edge), trying every
//! hull edge.

/// An oriented bounding box: the smallest-area rectangle around the footprint, extruded from the
/// object's lowest to its highest point.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OrientedBox {
    /// Centre, in the file's coordinates.
    pub centre: [f64; 3],
    /// Length (along `yaw`), width (across it) and height, in the file's units.
    pub size: [f64; 3],
    /// Angle of the length axis from the +x axis towards +y, radians in (−π/2, π/2].
    pub yaw: f64,
}

/// Cross product of (b − a) and (c − a): > 0 when a, b, c turn left.
fn cross(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// The convex hull, counter-clockwise, without collinear points (fewer than 3 points for a
/// degenerate footprint).
pub fn convex_hull(mut points: Vec<[f64; 2]>) -> Vec<[f64; 2]> {
    points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(2 * points.len());
    for pass in 0..2 {
        let start = hull.len();
        let ordered: Box<dyn Iterator<Item = &[f64; 2]>> = if pass == 0 {
            Box::new(points.iter())
        } else {
            Box::new(points.iter().rev())
        };
        for &p in ordered {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// Area of a simple polygon (shoelace).
pub fn polygon_area(poly: &[[f64; 2]]) -> f64 {
    let n = poly.len();
    if n < 3 {
        return 0.0;
    }
    let twice: f64 = (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum();
    twice.abs() / 2.0
}

/// The smallest-area rectangle around a convex hull: (centre, length ≥ width, yaw of the length
/// axis).
pub fn min_area_rectangle(hull: &[[f64; 2]]) -> ([f64; 2], [f64; 2], f64) {
    match hull.len() {
        0 => return ([0.0; 2], [0.0; 2], 0.0),
        1 => return (hull[0], [0.0; 2], 0.0),
        _ => {}
    }
    let mut best: Option<(f64, [f64; 2], [f64; 2], f64)> = None;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = dx.hypot(dy);
        if len == 0.0 {
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in hull {
            let s = p[0] * ux + p[1] * uy;
            let t = -p[0] * uy + p[1] * ux;
            lo = [lo[0].min(s), lo[1].min(t)];
            hi = [hi[0].max(s), hi[1].max(t)];
        }
        let size = [hi[0] - lo[0], hi[1] - lo[1]];
        let area = size[0] * size[1];
        if best.is_none_or(|b| area < b.0 - 1e-12 * b.0.abs().max(1e-300)) {
            let (cs, ct) = ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
            let centre = [cs * ux - ct * uy, cs * uy + ct * ux];
            best = Some((area, centre, size, uy.atan2(ux)));
        }
    }
    let (_, centre, size, yaw) = best.expect("a hull of 2+ distinct points has an edge");
    // Length along the yaw: swap so that the first side is the longer one.
    let (size, yaw) = if size[0] >= size[1] {
        (size, yaw)
    } else {
        ([size[1], size[0]], yaw + std::f64::consts::FRAC_PI_2)
    };
    (centre, size, normalise_yaw(yaw))
}

/// A direction's angle folded into (−π/2, π/2]: a box's axis has no sense.
fn normalise_yaw(mut yaw: f64) -> f64 {
    use std::f64::consts::PI;
    while yaw > PI / 2.0 {
        yaw -= PI;
    }
    while yaw <= -PI / 2.0 {
        yaw += PI;
    }
    yaw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_rectangle_is_found_exactly() {
        // A 4 × 2 rectangle rotated by 30°, centred at (10, 20), with points inside it.
        let yaw = 30f64.to_radians();
        let (c, s) = (yaw.cos(), yaw.sin());
        let mut pts = Vec::new();
        for i in 0..=8 {
            for j in 0..=4 {
                let (u, v) = (i as f64 * 0.5 - 2.0, j as f64 * 0.5 - 1.0);
                pts.push([10.0 + u * c - v * s, 20.0 + u * s + v * c]);
            }
        }
        let hull = convex_hull(pts);
        assert!((polygon_area(&hull) - 8.0).abs() < 1e-9);
        let (centre, size, found) = min_area_rectangle(&hull);
        assert!((centre[0] - 10.0).abs() < 1e-9 && (centre[1] - 20.0).abs() < 1e-9);
        assert!((size[0] - 4.0).abs() < 1e-9 && (size[1] - 2.0).abs() < 1e-9);
        assert!((found - yaw).abs() < 1e-9, "{found}");
    }

    #[test]
    fn degenerate_footprints_have_no_area() {
        assert_eq!(polygon_area(&convex_hull(vec![[1.0, 1.0]; 5])), 0.0);
        let line = convex_hull(vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]);
        assert_eq!(polygon_area(&line), 0.0);
        let (_, size, yaw) = min_area_rectangle(&line);
        assert!((size[0] - 8f64.sqrt()).abs() < 1e-9 && size[1].abs() < 1e-9);
        assert!((yaw - std::f64::consts::FRAC_PI_4).abs() < 1e-9);
    }
}
