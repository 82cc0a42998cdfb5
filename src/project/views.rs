//! View sets: the camera rotations of each projection, as data users can change.

use super::Projection;
use nalgebra::Matrix3;
use std::f64::consts::PI;

/// One view: rotation angles (radians) applied as `Ry(tilt) · Rx(x) · Ry(y) · Rz(z) · p`.
/// `tilt` is PointCLIP V2's extra elevation β; the pointclip projection uses no tilt.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct View {
    /// Rotation about x (radians).
    pub x: f64,
    /// Rotation about y (radians).
    pub y: f64,
    /// Rotation about z (radians).
    pub z: f64,
    /// Extra elevation β about y, applied last (realistic views).
    pub tilt: f64,
}

fn rx(a: f64) -> Matrix3<f64> {
    let (s, c) = a.sin_cos();
    Matrix3::new(1.0, 0.0, 0.0, 0.0, c, -s, 0.0, s, c)
}

fn ry(a: f64) -> Matrix3<f64> {
    let (s, c) = a.sin_cos();
    Matrix3::new(c, 0.0, s, 0.0, 1.0, 0.0, -s, 0.0, c)
}

fn rz(a: f64) -> Matrix3<f64> {
    let (s, c) = a.sin_cos();
    Matrix3::new(c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)
}

impl View {
    /// A view from angles in radians.
    pub fn new(x: f64, y: f64, z: f64, tilt: f64) -> Self {
        View { x, y, z, tilt }
    }

    /// The rotation, computed in f64 and rounded once to f32 (as a float32 pipeline would hold it).
    pub fn rotation(&self) -> [[f32; 3]; 3] {
        let m = ry(self.tilt) * rx(self.x) * ry(self.y) * rz(self.z);
        let mut out = [[0f32; 3]; 3];
        for (r, row) in out.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = m[(r, c)] as f32;
            }
        }
        out
    }
}

/// The views a cloud is rendered from.
///
/// ```
/// use calip3d::project::{Projection, ViewSet};
/// let views = ViewSet::preset(Projection::PointClip);
/// assert_eq!(views.len(), 6);
/// let front_and_top = views.select(&[0, 4]).unwrap();
/// assert_eq!(front_and_top.len(), 2);
/// let custom = ViewSet::parse("0,0,90;90,0,90,20").unwrap(); // degrees: x,y,z[,tilt]
/// assert_eq!(custom.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ViewSet {
    /// The views, in order.
    pub views: Vec<View>,
}

impl ViewSet {
    /// The views of METHOD.md §2 (pointclip, 6 views) or §3 (realistic, 10 views).
    pub fn preset(projection: Projection) -> Self {
        let h = PI / 2.0;
        let views = match projection {
            Projection::PointClip => vec![
                View::new(0.0, 0.0, h, 0.0),
                View::new(h, 0.0, h, 0.0),
                View::new(PI, 0.0, h, 0.0),
                View::new(3.0 * h, 0.0, h, 0.0),
                View::new(0.0, -h, h, 0.0),
                View::new(0.0, h, h, 0.0),
            ],
            Projection::Realistic => {
                let b = PI / 9.0;
                let mut v: Vec<View> = [1.0, 3.0, 5.0, 7.0]
                    .iter()
                    .map(|k| View::new(k * PI / 4.0, 0.0, h, b))
                    .collect();
                v.extend(
                    [0.0, h, PI, 3.0 * h]
                        .iter()
                        .map(|&x| View::new(x, 0.0, h, b)),
                );
                v.push(View::new(0.0, -h, h, PI / 15.0));
                v.push(View::new(0.0, h, h, PI / 15.0));
                v
            }
        };
        ViewSet { views }
    }

    /// Views from `x,y,z[,tilt]` in degrees, separated by `;`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let views = spec
            .split(';')
            .filter(|s| !s.trim().is_empty())
            .map(|v| {
                let a: Vec<f64> = v
                    .split(',')
                    .map(|x| {
                        x.trim()
                            .parse::<f64>()
                            .map_err(|e| format!("view `{v}`: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
                if !(3..=4).contains(&a.len()) || a.iter().any(|x| !x.is_finite()) {
                    return Err(format!("view `{v}`: expected x,y,z[,tilt] in degrees"));
                }
                let r = |d: f64| d.to_radians();
                Ok(View::new(
                    r(a[0]),
                    r(a[1]),
                    r(a[2]),
                    r(a.get(3).copied().unwrap_or(0.0)),
                ))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if views.is_empty() {
            return Err("no views given".into());
        }
        Ok(ViewSet { views })
    }

    /// The views at `indices`, in that order (to drop or reorder views).
    pub fn select(&self, indices: &[usize]) -> Result<Self, String> {
        let views = indices
            .iter()
            .map(|&i| {
                self.views
                    .get(i)
                    .copied()
                    .ok_or_else(|| format!("view {i} does not exist ({} views)", self.views.len()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ViewSet { views })
    }

    /// The views numbered `numbers`, counting from 1 as people do (`--view-indices 1,2,5`), in
    /// that order. 0 and numbers past the last view are errors that say so.
    ///
    /// ```
    /// use calip3d::project::{Projection, ViewSet};
    /// let views = ViewSet::preset(Projection::PointClip);
    /// assert_eq!(views.select_one_based(&[1, 5]).unwrap(), views.select(&[0, 4]).unwrap());
    /// assert!(views.select_one_based(&[0]).is_err());
    /// ```
    pub fn select_one_based(&self, numbers: &[usize]) -> Result<Self, String> {
        let n = self.views.len();
        let views = numbers
            .iter()
            .map(
                |&k| match k.checked_sub(1).and_then(|i| self.views.get(i)) {
                    Some(v) => Ok(*v),
                    None if k == 0 => {
                        Err(format!("there is no view 0: views count from 1 (1 to {n})"))
                    }
                    None => Err(format!("view {k} does not exist (views 1 to {n})")),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        if views.is_empty() {
            return Err("no views given".into());
        }
        Ok(ViewSet { views })
    }

    /// Number of views.
    pub fn len(&self) -> usize {
        self.views.len()
    }

    /// Whether there are no views.
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_based_selection_counts_from_one_and_refuses_zero() {
        let views = ViewSet::preset(Projection::Realistic);
        let picked = views.select_one_based(&[10, 1]).unwrap();
        assert_eq!(picked.views, vec![views.views[9], views.views[0]]);
        let zero = views.select_one_based(&[1, 0]).unwrap_err();
        assert_eq!(zero, "there is no view 0: views count from 1 (1 to 10)");
        let past = views.select_one_based(&[11]).unwrap_err();
        assert_eq!(past, "view 11 does not exist (views 1 to 10)");
        assert_eq!(views.select_one_based(&[]).unwrap_err(), "no views given");
    }

    #[test]
    fn rotations_follow_the_method() {
        // v1 of pointclip is Rz(π/2): x → y, y → −x.
        let m = ViewSet::preset(Projection::PointClip).views[0].rotation();
        let p = [1.0f32, 0.0, 0.0];
        let q: Vec<f32> = (0..3)
            .map(|r| (0..3).map(|c| m[r][c] * p[c]).sum())
            .collect();
        assert!(
            (q[0]).abs() < 1e-7 && (q[1] - 1.0).abs() < 1e-7 && q[2].abs() < 1e-7,
            "{q:?}"
        );
        let r = ViewSet::preset(Projection::Realistic);
        assert_eq!(r.len(), 10);
        assert!(
            (r.views[8].tilt - PI / 15.0).abs() < 1e-12 && (r.views[8].y + PI / 2.0).abs() < 1e-12
        );
    }
}
