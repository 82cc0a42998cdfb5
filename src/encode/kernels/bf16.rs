//! A bf16 matrix product on AVX512-BF16 (`vdpbf16ps`): `Y = X·Wᵀ + b` with `X` in f32 (rounded to
//! bf16 on the fly), `W` pre-packed in bf16 and every sum accumulated in f32.
//!
//! Packing: `W` (`[n, k]`) is cut into panels of [`NR`] output columns; within a panel, each pair
//! of input rows `(2p, 2p+1)` stores, per column, the two values side by side, so that one 512-bit
//! load holds 16 columns × 2 k-values, the operand `vdpbf16ps` multiplies pairwise with a
//! broadcast pair of `X`. The micro-kernel keeps an `MR × NR` tile of `Y` in 24 registers over the
//! whole `k`; rows are split across threads in blocks whose packed `X` and one `W` panel stay in L2.

use super::level::{self, Level};
use rayon::prelude::*;

/// Output columns per panel (two 16-lane registers).
pub const NR: usize = 32;
/// Rows per micro-kernel tile.
const MR: usize = 12;
/// Rows per parallel task.
const MC: usize = 4 * MR;

/// `W` packed for [`matmul`]: `[n / NR]` panels × `[k / 2]` pairs × `NR` columns × 2, zero-padded.
pub struct PackedBf16 {
    n: usize,
    k: usize,
    /// `k` rounded up to even.
    kp: usize,
    data: Vec<u16>,
}

/// Whether [`matmul`] runs its AVX512-BF16 kernel at `level` (the CPU's level and features are
/// checked at run time).
pub fn available_at(level: Level) -> bool {
    level >= Level::Avx512 && level::detected() >= Level::Avx512 && level::has_bf16()
}

/// Whether [`matmul`] has its fast kernel at the current level ([`level::current`]).
pub fn available() -> bool {
    available_at(level::current())
}

fn to_bf16(x: f32) -> u16 {
    half::bf16::from_f32(x).to_bits()
}

impl PackedBf16 {
    /// Packs a PyTorch-layout weight `w` (`[n, k]`, row-major f32).
    pub fn pack(w: &[f32], n: usize, k: usize) -> Self {
        let kp = k.div_ceil(2) * 2;
        let panels = n.div_ceil(NR);
        let mut data = vec![0u16; panels * kp * NR];
        data.par_chunks_mut(kp * NR)
            .enumerate()
            .for_each(|(panel, dst)| {
                for c in 0..NR {
                    let col = panel * NR + c;
                    if col >= n {
                        break;
                    }
                    let row = &w[col * k..(col + 1) * k];
                    for (j, &v) in row.iter().enumerate() {
                        dst[(j / 2) * 2 * NR + 2 * c + (j % 2)] = to_bf16(v);
                    }
                }
            });
        Self { n, k, kp, data }
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

/// `x` (`[m, k]` row-major) times `wᵀ`, plus `bias` (`[n]`) when given: `[m, n]` row-major, at
/// `level`. Meant for levels where [`available_at`] is true; elsewhere it computes the same
/// product in f32 from the bf16 values (slowly), so a wrong call is never undefined behaviour.
pub fn matmul(level: Level, x: &[f32], m: usize, w: &PackedBf16, bias: Option<&[f32]>) -> Vec<f32> {
    let (n, k, kp) = (w.n, w.k, w.kp);
    let mut xb = vec![0u16; m * kp];
    xb.par_chunks_mut(kp)
        .zip(x.par_chunks(k))
        .for_each(|(dst, src)| {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = to_bf16(s);
            }
        });
    let mut out = vec![0f32; m * n];
    let fast = available_at(level);
    out.par_chunks_mut(MC * n)
        .zip(xb.par_chunks(MC * kp))
        .for_each(|(out, xb)| {
            let rows = xb.len() / kp;
            for panel in 0..n.div_ceil(NR) {
                let wp = &w.data[panel * kp * NR..(panel + 1) * kp * NR];
                let mut r = 0;
                while r < rows {
                    let mr = MR.min(rows - r);
                    let mut tile = [[0f32; NR]; MR];
                    let a = &xb[r * kp..(r + mr) * kp];
                    if fast {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: the CPU has AVX512F and AVX512-BF16 (checked by `available_at`);
                        // `a` holds `mr` rows of `kp` values and `wp` one panel of `kp/2` pairs.
                        unsafe {
                            avx512::tile(a, mr, kp, wp, &mut tile)
                        };
                    } else {
                        scalar_tile(a, mr, kp, wp, &mut tile);
                    }
                    let col0 = panel * NR;
                    let cols = NR.min(n - col0);
                    for (i, t) in tile.iter().take(mr).enumerate() {
                        let dst = &mut out[(r + i) * n + col0..(r + i) * n + col0 + cols];
                        match bias {
                            Some(b) => {
                                for ((d, &v), &b) in dst.iter_mut().zip(t).zip(&b[col0..]) {
                                    *d = v + b;
                                }
                            }
                            None => dst.copy_from_slice(&t[..cols]),
                        }
                    }
                    r += mr;
                }
            }
        });
    out
}

fn bf16_to_f32(v: u16) -> f32 {
    f32::from_bits(u32::from(v) << 16)
}

/// The micro-kernel's arithmetic without SIMD: the reference for CPUs without AVX512-BF16.
fn scalar_tile(a: &[u16], mr: usize, kp: usize, wp: &[u16], tile: &mut [[f32; NR]; MR]) {
    for (i, t) in tile.iter_mut().take(mr).enumerate() {
        let row = &a[i * kp..(i + 1) * kp];
        for p in 0..kp / 2 {
            let (x0, x1) = (bf16_to_f32(row[2 * p]), bf16_to_f32(row[2 * p + 1]));
            let w = &wp[p * 2 * NR..(p + 1) * 2 * NR];
            for (c, t) in t.iter_mut().enumerate() {
                *t += x0 * bf16_to_f32(w[2 * c]) + x1 * bf16_to_f32(w[2 * c + 1]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    /// One `mr × NR` tile over the whole `k`, dispatched to a kernel with `mr` fixed at compile
    /// time so that its accumulators live in registers.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn tile(a: &[u16], mr: usize, kp: usize, wp: &[u16], out: &mut [[f32; NR]; MR]) {
        match mr {
            12 => kernel::<12>(a, kp, wp, out),
            11 => kernel::<11>(a, kp, wp, out),
            10 => kernel::<10>(a, kp, wp, out),
            9 => kernel::<9>(a, kp, wp, out),
            8 => kernel::<8>(a, kp, wp, out),
            7 => kernel::<7>(a, kp, wp, out),
            6 => kernel::<6>(a, kp, wp, out),
            5 => kernel::<5>(a, kp, wp, out),
            4 => kernel::<4>(a, kp, wp, out),
            3 => kernel::<3>(a, kp, wp, out),
            2 => kernel::<2>(a, kp, wp, out),
            _ => kernel::<1>(a, kp, wp, out),
        }
    }

    #[target_feature(enable = "avx512f,avx512bf16")]
    #[inline]
    unsafe fn kernel<const R: usize>(a: &[u16], kp: usize, wp: &[u16], out: &mut [[f32; NR]; MR]) {
        debug_assert!(a.len() >= R * kp && wp.len() >= kp * NR);
        let mut acc0 = [_mm512_setzero_ps(); R];
        let mut acc1 = [_mm512_setzero_ps(); R];
        let ap = a.as_ptr() as *const u32;
        let bp = wp.as_ptr();
        let stride = kp / 2; // pairs per row of `a`
        for p in 0..kp / 2 {
            let b0: __m512bh =
                std::mem::transmute(_mm512_loadu_si512(bp.add(p * 2 * NR) as *const _));
            let b1: __m512bh =
                std::mem::transmute(_mm512_loadu_si512(bp.add(p * 2 * NR + NR) as *const _));
            for i in 0..R {
                let pair = ap.add(i * stride + p).read_unaligned();
                let x: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair as i32));
                acc0[i] = _mm512_dpbf16_ps(acc0[i], x, b0);
                acc1[i] = _mm512_dpbf16_ps(acc1[i], x, b1);
            }
        }
        for i in 0..R {
            _mm512_storeu_ps(out[i].as_mut_ptr(), acc0[i]);
            _mm512_storeu_ps(out[i].as_mut_ptr().add(16), acc1[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(x: &[f32], m: usize, w: &[f32], n: usize, k: usize) -> Vec<f32> {
        let r = |v: f32| half::bf16::from_f32(v).to_f32();
        let mut y = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                y[i * n + j] = (0..k).map(|t| r(x[i * k + t]) * r(w[j * k + t])).sum();
            }
        }
        y
    }

    #[test]
    fn matches_a_bf16_rounded_reference_on_ragged_shapes() {
        // m, n, k not multiples of the tile sizes, k odd.
        for &(m, n, k) in &[(1, 1, 1), (13, 33, 7), (50, 64, 96), (25, 70, 129)] {
            let x: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 40.0)
                .collect();
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.5).collect();
            let packed = PackedBf16::pack(&w, n, k);
            let want = reference(&x, m, &w, n, k);
            // Every level: the scalar tile and, where the CPU has it, the AVX512-BF16 kernel.
            for level in level::supported() {
                let got = matmul(level, &x, m, &packed, Some(&bias));
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let w = w + bias[i % n];
                    assert!(
                        (g - w).abs() <= 1e-3 * (1.0 + w.abs()),
                        "{level} {m}x{n}x{k} [{i}]: {g} vs {w}"
                    );
                }
            }
        }
    }
}
