//! CLIP's standard preprocessing of ordinary images (PNG; transparency composited over white):
//! resize the shorter side to the model's input
//! size (bicubic, antialiased, as PIL does it), centre-crop, scale to [0, 1], subtract CLIP's mean
//! and divide by its standard deviation. Depth views from the projector skip this (METHOD §2–3) and
//! go to the encoder raw; [`normalize_pixels`] is the switch for when normalisation is wanted.

use super::error::ModelError;
use candle_core::{Device, Tensor};
use std::path::Path;

// One source: the projector (an earlier stage) normalises depth views with the same constants.
pub use crate::project::resize::{CLIP_MEAN, CLIP_STD};

/// An 8-bit RGB image, row-major, interleaved.
struct Rgb8 {
    w: usize,
    h: usize,
    data: Vec<u8>,
}

fn read_png(path: &Path) -> Result<Rgb8, ModelError> {
    let err = |reason: String| ModelError::Image {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| err(format!("not a readable PNG: {e}")))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| err(format!("not a readable PNG: {e}")))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let px = &buf[..info.buffer_size()];
    use png::ColorType::*;
    // Transparent pixels are composited over white, as transformers' `convert_rgb` does.
    let over_white = |c: u8, a: u8| {
        ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8
    };
    let data: Vec<u8> = match info.color_type {
        Rgb => px.to_vec(),
        Rgba => px
            .chunks_exact(4)
            .flat_map(|p| [0, 1, 2].map(|c| over_white(p[c], p[3])))
            .collect(),
        Grayscale => px.iter().flat_map(|&g| [g, g, g]).collect(),
        GrayscaleAlpha => px
            .chunks_exact(2)
            .flat_map(|p| [over_white(p[0], p[1]); 3])
            .collect(),
        Indexed => return Err(err("indexed PNG was not expanded".into())),
    };
    if w == 0 || h == 0 {
        return Err(err("empty image".into()));
    }
    Ok(Rgb8 { w, h, data })
}

/// PIL's bicubic kernel (a = −0.5).
fn bicubic(x: f64) -> f64 {
    let a = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * a
    } else {
        0.0
    }
}

/// For each output sample: first input index and normalised weights (PIL's antialiased
/// resampling: the kernel widens by the downscale factor).
fn resample_weights(n_in: usize, n_out: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = n_in as f64 / n_out as f64;
    let fscale = scale.max(1.0);
    let support = 2.0 * fscale;
    (0..n_out)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor().max(0.0)) as usize;
            let hi = ((center + support + 0.5).floor() as usize).min(n_in);
            let mut w: Vec<f64> = (lo..hi)
                .map(|i| bicubic((i as f64 - center + 0.5) / fscale))
                .collect();
            let sum: f64 = w.iter().sum();
            if sum != 0.0 {
                w.iter_mut().for_each(|x| *x /= sum);
            }
            (lo, w)
        })
        .collect()
}

/// Resizes along one axis; `stride`/`step` address the resampled axis. Rounds to 8 bits after
/// the pass, as PIL does.
fn resize_axis(img: &Rgb8, new_w: usize, new_h: usize) -> Rgb8 {
    let horizontal = new_w != img.w;
    let weights = if horizontal {
        resample_weights(img.w, new_w)
    } else {
        resample_weights(img.h, new_h)
    };
    let mut data = vec![0u8; new_w * new_h * 3];
    for y in 0..new_h {
        for x in 0..new_w {
            let (lo, w) = &weights[if horizontal { x } else { y }];
            for c in 0..3 {
                let mut acc = 0.0;
                for (k, wk) in w.iter().enumerate() {
                    let (sx, sy) = if horizontal { (lo + k, y) } else { (x, lo + k) };
                    acc += wk * f64::from(img.data[(sy * img.w + sx) * 3 + c]);
                }
                data[(y * new_w + x) * 3 + c] = acc.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Rgb8 {
        w: new_w,
        h: new_h,
        data,
    }
}

/// Loads a PNG and applies CLIP's preprocessing for input size `size`; returns `[3, size, size]`.
pub fn preprocess_image(path: &Path, size: usize, device: &Device) -> Result<Tensor, ModelError> {
    let img = read_png(path)?;
    // Shorter side → size, longer side scaled and floored (transformers' rule).
    let (w, h) = if img.w <= img.h {
        (size, (size * img.h / img.w).max(size))
    } else {
        ((size * img.w / img.h).max(size), size)
    };
    let mut img = img;
    if w != img.w {
        img = resize_axis(&img, w, img.h);
    }
    if h != img.h {
        img = resize_axis(&img, img.w, h);
    }
    let (top, left) = ((img.h - size) / 2, (img.w - size) / 2);
    let mut out = vec![0f32; 3 * size * size];
    for c in 0..3 {
        for y in 0..size {
            for x in 0..size {
                let v = f32::from(img.data[((y + top) * img.w + x + left) * 3 + c]) / 255.0;
                out[(c * size + y) * size + x] = (v - CLIP_MEAN[c]) / CLIP_STD[c];
            }
        }
    }
    Ok(Tensor::from_vec(out, (3, size, size), device)?)
}

/// Applies CLIP's mean/std normalisation to `[.., 3, H, W]` pixels in [0, 1].
pub fn normalize_pixels(pixels: &Tensor) -> Result<Tensor, ModelError> {
    let rank = pixels.rank();
    if rank < 3 || pixels.dim(rank - 3)? != 3 {
        return Err(ModelError::Input(format!(
            "expected [.., 3, H, W] pixels, got {:?}",
            pixels.dims()
        )));
    }
    let mut shape = vec![1usize; rank];
    shape[rank - 3] = 3;
    let dev = pixels.device();
    let mean = Tensor::new(&CLIP_MEAN, dev)?.reshape(shape.clone())?;
    let std = Tensor::new(&CLIP_STD, dev)?.reshape(shape)?;
    Ok(pixels.broadcast_sub(&mean)?.broadcast_div(&std)?)
}
