//! An 8-bit matrix product `Y = X·Wᵀ + b` for CPUs with AVX2 (`vpmaddubsw` + `vpmaddwd`), AVX-512
//! (the same at twice the width, or `vpdpbusd` with VNNI), and a scalar twin with the same
//! integer sums, bit for bit.
//!
//! Quantisation (chosen so that `vpmaddubsw`'s 16-bit pair sums can never saturate, which makes
//! every level's integer sums exact and identical):
//! - weights, once at load, per output row: `q = round(w / s_w)` in `[-127, 127]` with
//!   `s_w = max|w| / 127`, plus the row's integer sum `Σq`;
//! - activations, at run time, per input row, asymmetric: `u = round((x - lo) / s_x)` in
//!   `[0, 127]` with `lo = min x`, `s_x = (max x - lo) / 127` (7 bits over the row's actual range;
//!   `127·127·2 = 32258` fits in an `i16`);
//! - `y = s_w · (s_x · Σ u·q + lo · Σq) + b`, the sum `Σ u·q` exact in `i32`.
//!
//! Rows of `u` and `q` are padded with zeros to a multiple of [`KP_ALIGN`] so that every level
//! reads whole vectors. Rows are split across threads in blocks of 48.

use super::level::{has_vnni, Level};
use rayon::prelude::*;

/// Largest quantised activation (7 bits, unsigned).
pub const ACT_MAX: i32 = 127;
/// Largest quantised weight magnitude (8 bits, signed, symmetric).
pub const W_MAX: i32 = 127;
/// The padded input width is a multiple of this (one AVX-512 vector of bytes).
pub const KP_ALIGN: usize = 64;
/// Rows per parallel task (a multiple of every micro-kernel's row count).
const MC: usize = 48;
/// Weight rows (output columns) per cache block.
const NC: usize = 96;
/// The largest micro-kernel tile.
const TILE: usize = 4;

/// A weight `[n, k]` quantised for [`matmul`].
pub struct PackedInt8 {
    n: usize,
    k: usize,
    kp: usize,
    /// `[n, kp]` row-major, zero-padded.
    q: Vec<i8>,
    /// Per output row.
    scale: Vec<f32>,
    /// Per output row: `Σ q`.
    qsum: Vec<i32>,
}

impl PackedInt8 {
    /// Quantises a PyTorch-layout weight `w` (`[n, k]`, row-major f32).
    pub fn quantize(w: &[f32], n: usize, k: usize) -> Self {
        let kp = padded(k);
        let mut q = vec![0i8; n * kp];
        let mut scale = vec![0f32; n];
        let mut qsum = vec![0i32; n];
        q.par_chunks_mut(kp)
            .zip(scale.par_iter_mut().zip(qsum.par_iter_mut()))
            .zip(w.par_chunks(k.max(1)))
            .for_each(|((dst, (s, sum)), row)| {
                let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                *s = if max > 0.0 { max / W_MAX as f32 } else { 1.0 };
                let inv = 1.0 / *s;
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = (v * inv).round().clamp(-W_MAX as f32, W_MAX as f32) as i8;
                }
                *sum = dst.iter().map(|&v| i32::from(v)).sum();
            });
        Self {
            n,
            k,
            kp,
            q,
            scale,
            qsum,
        }
    }

    /// Output width `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input width `k`.
    pub fn k(&self) -> usize {
        self.k
    }
}

fn padded(k: usize) -> usize {
    k.div_ceil(KP_ALIGN).max(1) * KP_ALIGN
}

/// Activations `[m, k]` quantised per row for [`matmul`].
pub struct QuantRows {
    /// `[m, kp]` row-major, zero-padded.
    u: Vec<u8>,
    scale: Vec<f32>,
    lo: Vec<f32>,
}

impl QuantRows {
    /// Quantises `x` (`[m, k]` row-major) for a weight of input width `k`.
    pub fn quantize(x: &[f32], m: usize, k: usize) -> Self {
        let kp = padded(k);
        let mut u = vec![0u8; m * kp];
        let mut scale = vec![0f32; m];
        let mut lo = vec![0f32; m];
        u.par_chunks_mut(kp)
            .zip(scale.par_iter_mut().zip(lo.par_iter_mut()))
            .zip(x.par_chunks(k.max(1)))
            .for_each(|((dst, (s, l)), row)| {
                let (min, max) = row
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    });
                let (min, max) = if row.is_empty() {
                    (0.0, 0.0)
                } else {
                    (min, max)
                };
                *l = min;
                *s = if max > min {
                    (max - min) / ACT_MAX as f32
                } else {
                    1.0
                };
                let inv = 1.0 / *s;
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = ((v - min) * inv).round().clamp(0.0, ACT_MAX as f32) as u8;
                }
            });
        Self { u, scale, lo }
    }
}

/// `x` (`[m, k]` row-major) times `wᵀ`, plus `bias` (`[n]`) when given: `[m, n]` row-major, with
/// the integer sums computed at `level` (any level runs anywhere: a level the CPU lacks runs the
/// scalar code, so a wrong call is never undefined behaviour).
pub fn matmul(level: Level, x: &[f32], m: usize, w: &PackedInt8, bias: Option<&[f32]>) -> Vec<f32> {
    let a = QuantRows::quantize(x, m, w.k);
    products(level, &a.u, m, w, |i, j, sum| {
        let y = w.scale[j] * (a.scale[i] * sum as f32 + a.lo[i] * w.qsum[j] as f32);
        match bias {
            Some(b) => y + b[j],
            None => y,
        }
    })
}

/// The exact integer sums `Σ_k u[i,k]·q[j,k]` (`[m, n]` row-major) at `level`: what [`matmul`]
/// scales, exposed so that the levels can be compared bit for bit.
pub fn integer_sums(level: Level, x: &[f32], m: usize, w: &PackedInt8) -> Vec<i32> {
    let a = QuantRows::quantize(x, m, w.k);
    products(level, &a.u, m, w, |_, _, sum| sum)
}

/// The micro-kernel for one `r × c` tile (`r, c ≤ TILE`): `u` points at `r` rows and `q` at `c`
/// rows, both of stride `kp`.
type TileFn = fn(&[u8], usize, &[i8], usize, usize, &mut [[i32; TILE]; TILE]);

/// Tile rows and columns of each level's micro-kernel, and the kernel.
fn kernel_for(level: Level) -> (usize, usize, TileFn) {
    #[cfg(target_arch = "x86_64")]
    {
        if level >= Level::Avx512 && super::level::detected() >= Level::Avx512 {
            return if has_vnni() {
                (4, 4, x86::tile_vnni)
            } else {
                (4, 4, x86::tile_avx512)
            };
        }
        if level >= Level::Avx2 && super::level::detected() >= Level::Avx2 {
            return (3, 3, x86::tile_avx2);
        }
    }
    let _ = (level, has_vnni);
    (TILE, TILE, scalar_tile)
}

/// The name of the kernel [`matmul`] runs at `level` (for `-v` and benchmarks).
pub fn kernel_name(level: Level) -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if level >= Level::Avx512 && super::level::detected() >= Level::Avx512 {
            return if has_vnni() {
                "own int8 kernel, AVX512-VNNI (vpdpbusd)"
            } else {
                "own int8 kernel, AVX512BW (vpmaddubsw)"
            };
        }
        if level >= Level::Avx2 && super::level::detected() >= Level::Avx2 {
            return "own int8 kernel, AVX2 (vpmaddubsw)";
        }
    }
    let _ = level;
    "own int8 kernel, scalar"
}

/// Runs the micro-kernels over `[m, n]` and maps every integer sum through `finish(i, j, sum)`.
fn products<T: Copy + Default + Send>(
    level: Level,
    u: &[u8],
    m: usize,
    w: &PackedInt8,
    finish: impl Fn(usize, usize, i32) -> T + Sync,
) -> Vec<T> {
    let (n, kp) = (w.n, w.kp);
    let (mr, nr, tile) = kernel_for(level);
    let mut out = vec![T::default(); m * n];
    if n == 0 {
        return out;
    }
    out.par_chunks_mut(MC * n)
        .zip(u.par_chunks(MC * kp))
        .enumerate()
        .for_each(|(block, (out, u))| {
            let row0 = block * MC;
            let rows = u.len() / kp;
            let mut sums = [[0i32; TILE]; TILE];
            for c0 in (0..n).step_by(NC) {
                let c_end = (c0 + NC).min(n);
                for r in (0..rows).step_by(mr) {
                    let rr = mr.min(rows - r);
                    for c in (c0..c_end).step_by(nr) {
                        let cc = nr.min(c_end - c);
                        tile(
                            &u[r * kp..(r + rr) * kp],
                            rr,
                            &w.q[c * kp..(c + cc) * kp],
                            cc,
                            kp,
                            &mut sums,
                        );
                        for (i, s) in sums.iter().take(rr).enumerate() {
                            let dst = &mut out[(r + i) * n + c..(r + i) * n + c + cc];
                            for (j, (d, &s)) in dst.iter_mut().zip(s).enumerate() {
                                *d = finish(row0 + r + i, c + j, s);
                            }
                        }
                    }
                }
            }
        });
    out
}

/// The integer sums without SIMD: the reference of the other levels and the code of CPUs without
/// them.
fn scalar_tile(u: &[u8], r: usize, q: &[i8], c: usize, kp: usize, out: &mut [[i32; TILE]; TILE]) {
    for (i, o) in out.iter_mut().take(r).enumerate() {
        let a = &u[i * kp..(i + 1) * kp];
        for (j, o) in o.iter_mut().take(c).enumerate() {
            let b = &q[j * kp..(j + 1) * kp];
            *o = a
                .iter()
                .zip(b)
                .map(|(&x, &y)| i32::from(x) * i32::from(y))
                .sum();
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::TILE;
    use std::arch::x86_64::*;

    /// Dispatches a ragged tile to a kernel with its shape fixed at compile time, so that the
    /// accumulators live in registers.
    macro_rules! by_shape {
        ($k:ident, $r:expr, $c:expr, $($args:expr),*) => {
            match ($r, $c) {
                (4, 4) => $k::<4, 4>($($args),*),
                (4, 3) => $k::<4, 3>($($args),*),
                (4, 2) => $k::<4, 2>($($args),*),
                (4, _) => $k::<4, 1>($($args),*),
                (3, 4) => $k::<3, 4>($($args),*),
                (3, 3) => $k::<3, 3>($($args),*),
                (3, 2) => $k::<3, 2>($($args),*),
                (3, _) => $k::<3, 1>($($args),*),
                (2, 4) => $k::<2, 4>($($args),*),
                (2, 3) => $k::<2, 3>($($args),*),
                (2, 2) => $k::<2, 2>($($args),*),
                (2, _) => $k::<2, 1>($($args),*),
                (_, 4) => $k::<1, 4>($($args),*),
                (_, 3) => $k::<1, 3>($($args),*),
                (_, 2) => $k::<1, 2>($($args),*),
                _ => $k::<1, 1>($($args),*),
            }
        };
    }

    /// AVX2 tile (`r, c ≤ 3`). Only chosen where the CPU has AVX2 and FMA.
    pub fn tile_avx2(
        u: &[u8],
        r: usize,
        q: &[i8],
        c: usize,
        kp: usize,
        out: &mut [[i32; TILE]; TILE],
    ) {
        assert!(u.len() >= r * kp && q.len() >= c * kp && kp.is_multiple_of(32));
        // SAFETY: `kernel_for` hands this out only where `detected() >= Avx2` (AVX2 and FMA);
        // the bounds were checked above and the kernels read whole rows of `kp` bytes.
        unsafe { by_shape!(avx2, r, c, u.as_ptr(), q.as_ptr(), kp, out) }
    }

    /// AVX512BW tile (`r, c ≤ 4`).
    pub fn tile_avx512(
        u: &[u8],
        r: usize,
        q: &[i8],
        c: usize,
        kp: usize,
        out: &mut [[i32; TILE]; TILE],
    ) {
        assert!(u.len() >= r * kp && q.len() >= c * kp && kp.is_multiple_of(64));
        // SAFETY: chosen only where `detected() >= Avx512` (AVX512F and BW); bounds checked above.
        unsafe { by_shape!(avx512, r, c, u.as_ptr(), q.as_ptr(), kp, out) }
    }

    /// AVX512-VNNI tile (`r, c ≤ 4`).
    pub fn tile_vnni(
        u: &[u8],
        r: usize,
        q: &[i8],
        c: usize,
        kp: usize,
        out: &mut [[i32; TILE]; TILE],
    ) {
        assert!(u.len() >= r * kp && q.len() >= c * kp && kp.is_multiple_of(64));
        // SAFETY: chosen only where `detected() >= Avx512` and `has_vnni()`; bounds checked above.
        unsafe { by_shape!(vnni, r, c, u.as_ptr(), q.as_ptr(), kp, out) }
    }

    #[target_feature(enable = "avx2")]
    fn hsum256(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let s = _mm_hadd_epi32(s, s);
        let s = _mm_hadd_epi32(s, s);
        _mm_cvtsi128_si32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<const R: usize, const C: usize>(
        u: *const u8,
        q: *const i8,
        kp: usize,
        out: &mut [[i32; TILE]; TILE],
    ) {
        let ones = _mm256_set1_epi16(1);
        let mut acc = [[_mm256_setzero_si256(); C]; R];
        let mut k = 0;
        while k < kp {
            let mut w = [_mm256_setzero_si256(); C];
            for (j, w) in w.iter_mut().enumerate() {
                *w = _mm256_loadu_si256(q.add(j * kp + k) as *const __m256i);
            }
            for (i, acc) in acc.iter_mut().enumerate() {
                let a = _mm256_loadu_si256(u.add(i * kp + k) as *const __m256i);
                for (acc, &w) in acc.iter_mut().zip(&w) {
                    // u8·i8 pair sums ≤ 2·127·127: no saturation, so the sums are exact.
                    let p = _mm256_maddubs_epi16(a, w);
                    *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(p, ones));
                }
            }
            k += 32;
        }
        for (o, acc) in out.iter_mut().zip(&acc) {
            for (o, &a) in o.iter_mut().zip(acc) {
                *o = hsum256(a);
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn avx512<const R: usize, const C: usize>(
        u: *const u8,
        q: *const i8,
        kp: usize,
        out: &mut [[i32; TILE]; TILE],
    ) {
        let ones = _mm512_set1_epi16(1);
        let mut acc = [[_mm512_setzero_si512(); C]; R];
        let mut k = 0;
        while k < kp {
            let mut w = [_mm512_setzero_si512(); C];
            for (j, w) in w.iter_mut().enumerate() {
                *w = _mm512_loadu_si512(q.add(j * kp + k) as *const _);
            }
            for (i, acc) in acc.iter_mut().enumerate() {
                let a = _mm512_loadu_si512(u.add(i * kp + k) as *const _);
                for (acc, &w) in acc.iter_mut().zip(&w) {
                    let p = _mm512_maddubs_epi16(a, w);
                    *acc = _mm512_add_epi32(*acc, _mm512_madd_epi16(p, ones));
                }
            }
            k += 64;
        }
        for (o, acc) in out.iter_mut().zip(&acc) {
            for (o, &a) in o.iter_mut().zip(acc) {
                *o = _mm512_reduce_add_epi32(a);
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn vnni<const R: usize, const C: usize>(
        u: *const u8,
        q: *const i8,
        kp: usize,
        out: &mut [[i32; TILE]; TILE],
    ) {
        let mut acc = [[_mm512_setzero_si512(); C]; R];
        let mut k = 0;
        while k < kp {
            let mut w = [_mm512_setzero_si512(); C];
            for (j, w) in w.iter_mut().enumerate() {
                *w = _mm512_loadu_si512(q.add(j * kp + k) as *const _);
            }
            for (i, acc) in acc.iter_mut().enumerate() {
                let a = _mm512_loadu_si512(u.add(i * kp + k) as *const _);
                for (acc, &w) in acc.iter_mut().zip(&w) {
                    // Four u8·i8 products per i32 lane, without an i16 step: the same exact sums.
                    *acc = _mm512_dpbusd_epi32(*acc, a, w);
                }
            }
            k += 64;
        }
        for (o, acc) in out.iter_mut().zip(&acc) {
            for (o, &a) in o.iter_mut().zip(acc) {
                *o = _mm512_reduce_add_epi32(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::kernels::level::supported;

    fn data(len: usize, seed: usize, scale: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((((i + seed) * 2654435761) % 1000) as f32 / 500.0 - 1.0) * scale)
            .collect()
    }

    #[test]
    fn every_level_gives_the_scalar_integer_sums_exactly() {
        // Ragged shapes: m, n not multiples of any tile, k not of the vector width.
        for &(m, n, k) in &[(1, 1, 1), (7, 5, 33), (50, 97, 96), (53, 70, 200)] {
            let x = data(m * k, 1, 3.0);
            let w = PackedInt8::quantize(&data(n * k, 7, 0.2), n, k);
            let reference = integer_sums(Level::Scalar, &x, m, &w);
            for level in supported() {
                assert_eq!(
                    integer_sums(level, &x, m, &w),
                    reference,
                    "{level} {m}x{n}x{k}"
                );
            }
        }
    }

    /// The AVX512BW kernel is not `kernel_for`'s choice where VNNI is present: test its tiles
    /// against the scalar ones directly.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512bw_tile_gives_the_scalar_sums_where_the_cpu_has_it() {
        if crate::encode::kernels::level::detected() < Level::Avx512 {
            return;
        }
        let kp = 192;
        let u: Vec<u8> = (0..TILE * kp).map(|i| (i * 37 % 128) as u8).collect();
        let q: Vec<i8> = (0..TILE * kp)
            .map(|i| (i * 53 % 255) as i32 - 127)
            .map(|v| v as i8)
            .collect();
        for (r, c) in [(4, 4), (3, 2), (1, 1), (2, 3)] {
            let (mut want, mut got) = ([[0i32; TILE]; TILE], [[0i32; TILE]; TILE]);
            scalar_tile(&u, r, &q, c, kp, &mut want);
            x86::tile_avx512(&u, r, &q, c, kp, &mut got);
            assert_eq!(got, want, "{r}x{c}");
        }
    }

    #[test]
    fn products_are_close_to_f32_and_extremes_do_not_saturate() {
        let (m, n, k) = (9, 11, 130);
        let x = data(m * k, 3, 2.0);
        let wf = data(n * k, 5, 0.5);
        let bias: Vec<f32> = (0..n).map(|j| j as f32).collect();
        let w = PackedInt8::quantize(&wf, n, k);
        for level in supported() {
            let y = matmul(level, &x, m, &w, Some(&bias));
            for i in 0..m {
                for j in 0..n {
                    let exact: f32 =
                        (0..k).map(|t| x[i * k + t] * wf[j * k + t]).sum::<f32>() + bias[j];
                    let err = (y[i * n + j] - exact).abs();
                    assert!(
                        err < 0.05 * (1.0 + exact.abs()),
                        "{level} [{i},{j}]: {} vs {exact}",
                        y[i * n + j]
                    );
                }
            }
        }
        // Activations 0 then 1s (u = 0, 127, 127, …) and weights ±1 (q = ±127): the largest
        // pair sums `vpmaddubsw` sees, which must not saturate.
        let k = 128;
        let mut x = vec![1f32; k];
        x[0] = 0.0;
        let wf: Vec<f32> = (0..k)
            .map(|t| if t % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let w = PackedInt8::quantize(&wf, 1, k);
        let want: i32 = wf[1..].iter().map(|&v| 127 * 127 * v as i32).sum();
        for level in supported() {
            assert_eq!(integer_sums(level, &x, 1, &w), [want], "{level}");
        }
    }
}
