//! The GPS time of LAZ point formats 1, 3, 4 and 5 as LASzip 2.x codes it (item `GpsTime`,
//! version 2), decoded without recursion.
//!
//! Why this exists: the published `laz` crate (0.13) decodes the "switch to another time
//! sequence" symbol of this coding by calling itself. A valid stream switches at most once per
//! point, but a corrupt one can keep asking, and the recursion runs until the stack overflows,
//! which aborts the process (no `catch_unwind` can contain it): one 3.4 kB file
//! (`tests/data/fuzz/laz_gps_sequence_switch_recursion.laz`, found by `fuzz/`) killed
//! `calip3d info` and whole batch runs. Here the switches are a loop, bounded at
//! [`MAX_SWITCHES`] per point, after which the point is an `InvalidData` error.
//! docs/laz-gps-recursion.md describes the bug for upstream; drop this module (and
//! `laz_points.rs`) once a published `laz` bounds it.
//!
//! The coding, after the LASzip specification (`LASreadItemCompressed_GPSTIME11_v2`): a point's
//! time belongs to one of four sequences (the interleaved time lines of multi-pulse scanners),
//! each remembering its last time, its last time difference and a count of "extreme" steps.
//! The first point of a chunk is stored raw. For each next point one symbol says what happened
//! in the current sequence: nothing, a difference (a multiple of the sequence's last difference,
//! corrected by an integer), a whole new time (which starts a fresh sequence in the next slot), or
//! a switch to another sequence, whose own symbol follows.

use laz::decoders::ArithmeticDecoder;
use laz::decompressors::{IntegerDecompressor, IntegerDecompressorBuilder};
use laz::models::{ArithmeticModel, ArithmeticModelBuilder};
use laz::record::FieldDecompressor;
use std::io::{Error, ErrorKind, Read};

/// Sequence switches allowed before one point's time: a valid stream needs at most one (the
/// writer switches to a sequence the time fits in), and there are only four sequences.
pub(super) const MAX_SWITCHES: usize = 4;

/// Time sequences kept (the slots wrap around).
const SEQUENCES: usize = 4;

/// Symbols after a sequence whose last difference was 0: unchanged, a 32-bit difference, a whole
/// new time, or a switch by 1–3 sequences (symbols 3–5).
const AFTER_ZERO_SYMBOLS: u32 = 6;
const AFTER_ZERO_DIFFERENCE: u32 = 1;
const AFTER_ZERO_NEW_TIME: u32 = 2;

/// Symbols after a non-zero difference: 0 an "extreme" difference predicted from 0, 1 the last
/// difference again (corrected), 2–499 that many times the last difference, 500 the largest
/// multiple (an extreme), 501–510 −1 to −10 times it (−10 an extreme), 511 unchanged, 512 a whole
/// new time, 513–515 a switch by 1–3 sequences.
const MULTIPLE_SYMBOLS: u32 = 516;
const LARGEST_MULTIPLE: u32 = 500;
const MOST_NEGATIVE_MULTIPLE: i32 = -10;
const UNCHANGED: u32 = 511;
const NEW_TIME: u32 = 512;

/// Integer-corrector contexts, one per kind of prediction.
const CTX_FIRST_DIFFERENCE: u32 = 0;
const CTX_SAME_DIFFERENCE: u32 = 1;
const CTX_SMALL_MULTIPLE: u32 = 2;
const CTX_LARGE_MULTIPLE: u32 = 3;
const CTX_LARGEST_MULTIPLE: u32 = 4;
const CTX_NEGATIVE_MULTIPLE: u32 = 5;
const CTX_MOST_NEGATIVE: u32 = 6;
const CTX_FROM_ZERO: u32 = 7;
const CTX_HIGH_WORD: u32 = 8;
/// Multiples below this use [`CTX_SMALL_MULTIPLE`], the others [`CTX_LARGE_MULTIPLE`].
const SMALL_MULTIPLES: u32 = 10;
/// Extreme differences in a row after which the last one becomes the sequence's difference.
const EXTREMES_BEFORE_ADOPTING: u32 = 3;

/// One time sequence: its last time (the `f64`'s bits, as an integer), its last difference and
/// how many extreme differences came in a row.
#[derive(Debug, Clone, Copy, Default)]
struct Sequence {
    time: i64,
    difference: i32,
    extremes: u32,
}

/// What one symbol did to the current sequence.
enum Step {
    /// The current sequence's time is the point's time.
    Done,
    /// Move this many sequences on and decode the point's symbol there.
    Switch(usize),
}

/// The LASzip v2 GPS time field decompressor, for `laz::record::SequentialPointRecordDecompressor`.
pub(super) struct GpsTimeV2 {
    sequences: [Sequence; SEQUENCES],
    /// The sequence the last point's time came from.
    current: usize,
    /// The slot the last whole new time went to; the next one goes to the slot after it.
    newest: usize,
    after_zero: ArithmeticModel,
    after_difference: ArithmeticModel,
    corrector: IntegerDecompressor,
}

impl Default for GpsTimeV2 {
    fn default() -> Self {
        GpsTimeV2 {
            sequences: [Sequence::default(); SEQUENCES],
            current: 0,
            newest: 0,
            after_zero: ArithmeticModelBuilder::new(AFTER_ZERO_SYMBOLS).build(),
            after_difference: ArithmeticModelBuilder::new(MULTIPLE_SYMBOLS).build(),
            corrector: IntegerDecompressorBuilder::new()
                .bits(32)
                .contexts(9)
                .build_initialized(),
        }
    }
}

impl GpsTimeV2 {
    /// Reads a whole new time (its high word predicted from the current sequence's, its low word
    /// raw) into the next slot, which becomes the current sequence.
    fn new_time<R: Read>(&mut self, dec: &mut ArithmeticDecoder<R>) -> std::io::Result<()> {
        let predicted_high = (self.sequences[self.current].time as u64 >> 32) as i32;
        let high = self
            .corrector
            .decompress(dec, predicted_high, CTX_HIGH_WORD)?;
        let low = dec.read_int()?;
        self.newest = (self.newest + 1) % SEQUENCES;
        self.current = self.newest;
        self.sequences[self.current] = Sequence {
            time: ((u64::from(high as u32) << 32) | u64::from(low)) as i64,
            difference: 0,
            extremes: 0,
        };
        Ok(())
    }

    /// Counts an extreme difference in the current sequence; after enough in a row it becomes the
    /// sequence's difference.
    fn extreme(&mut self, difference: i32) {
        let seq = &mut self.sequences[self.current];
        seq.extremes += 1;
        if seq.extremes > EXTREMES_BEFORE_ADOPTING {
            seq.difference = difference;
            seq.extremes = 0;
        }
    }

    /// Decodes one symbol for a sequence whose last difference is 0.
    fn after_zero<R: Read>(&mut self, dec: &mut ArithmeticDecoder<R>) -> std::io::Result<Step> {
        let symbol = dec.decode_symbol(&mut self.after_zero)?;
        match symbol {
            AFTER_ZERO_DIFFERENCE => {
                let difference = self.corrector.decompress(dec, 0, CTX_FIRST_DIFFERENCE)?;
                let seq = &mut self.sequences[self.current];
                seq.time = seq.time.wrapping_add(i64::from(difference));
                seq.difference = difference;
                seq.extremes = 0;
            }
            AFTER_ZERO_NEW_TIME => self.new_time(dec)?,
            s if s > AFTER_ZERO_NEW_TIME => {
                return Ok(Step::Switch((s - AFTER_ZERO_NEW_TIME) as usize));
            }
            _ => {} // 0: the time is unchanged
        }
        Ok(Step::Done)
    }

    /// Decodes one symbol for a sequence with a non-zero last difference.
    fn after_difference<R: Read>(
        &mut self,
        dec: &mut ArithmeticDecoder<R>,
    ) -> std::io::Result<Step> {
        let symbol = dec.decode_symbol(&mut self.after_difference)?;
        let last = self.sequences[self.current].difference;
        // Multiples wrap in 32 bits, as the format's reference implementation computes them.
        let times = |k: i32| k.wrapping_mul(last);
        let difference = match symbol {
            UNCHANGED => return Ok(Step::Done),
            NEW_TIME => {
                self.new_time(dec)?;
                return Ok(Step::Done);
            }
            s if s > NEW_TIME => return Ok(Step::Switch((s - NEW_TIME) as usize)),
            0 => {
                let d = self.corrector.decompress(dec, 0, CTX_FROM_ZERO)?;
                self.extreme(d);
                d
            }
            1 => {
                let d = self.corrector.decompress(dec, last, CTX_SAME_DIFFERENCE)?;
                self.sequences[self.current].extremes = 0;
                d
            }
            s if s < SMALL_MULTIPLES => {
                self.corrector
                    .decompress(dec, times(s as i32), CTX_SMALL_MULTIPLE)?
            }
            s if s < LARGEST_MULTIPLE => {
                self.corrector
                    .decompress(dec, times(s as i32), CTX_LARGE_MULTIPLE)?
            }
            LARGEST_MULTIPLE => {
                let d = self.corrector.decompress(
                    dec,
                    times(LARGEST_MULTIPLE as i32),
                    CTX_LARGEST_MULTIPLE,
                )?;
                self.extreme(d);
                d
            }
            s => {
                // 501–510: −1 to −10 times the last difference.
                let k = LARGEST_MULTIPLE as i32 - s as i32;
                if k > MOST_NEGATIVE_MULTIPLE {
                    self.corrector
                        .decompress(dec, times(k), CTX_NEGATIVE_MULTIPLE)?
                } else {
                    let d = self.corrector.decompress(
                        dec,
                        times(MOST_NEGATIVE_MULTIPLE),
                        CTX_MOST_NEGATIVE,
                    )?;
                    self.extreme(d);
                    d
                }
            }
        };
        let seq = &mut self.sequences[self.current];
        seq.time = seq.time.wrapping_add(i64::from(difference));
        Ok(Step::Done)
    }
}

impl<R: Read> FieldDecompressor<R> for GpsTimeV2 {
    fn size_of_field(&self) -> usize {
        8
    }

    fn decompress_first(&mut self, src: &mut R, first_point: &mut [u8]) -> std::io::Result<()> {
        src.read_exact(first_point)?;
        let raw: [u8; 8] = first_point
            .try_into()
            .map_err(|_| Error::new(ErrorKind::InvalidInput, "a GPS time field is 8 bytes"))?;
        *self = GpsTimeV2::default();
        self.sequences[0].time = i64::from_le_bytes(raw);
        Ok(())
    }

    fn decompress_with(
        &mut self,
        dec: &mut ArithmeticDecoder<R>,
        buf: &mut [u8],
    ) -> std::io::Result<()> {
        // The first symbol, then one more after each switch.
        for _ in 0..=MAX_SWITCHES {
            let step = if self.sequences[self.current].difference == 0 {
                self.after_zero(dec)?
            } else {
                self.after_difference(dec)?
            };
            match step {
                Step::Done => {
                    let time = self.sequences[self.current].time;
                    buf.copy_from_slice(&time.to_le_bytes());
                    return Ok(());
                }
                Step::Switch(by) => self.current = (self.current + by) % SEQUENCES,
            }
        }
        Err(Error::new(
            ErrorKind::InvalidData,
            format!(
                "corrupt GPS time: the stream keeps switching sequences \
                 (more than {MAX_SWITCHES} switches for one point)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use laz::record::{
        RecordCompressor, RecordDecompressor, SequentialPointRecordCompressor,
        SequentialPointRecordDecompressor,
    };
    use std::io::Cursor;

    /// xorshift64: reproducible times without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// GPS times that reach every symbol of the coding: repeats, steady steps, small and large
    /// multiples of the last step, negative ones, extremes in a row, jumps to new times, returns
    /// to older sequences (switches), more sequences than the four slots, and raw bit patterns.
    fn times() -> Vec<f64> {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut out = Vec::new();
        // Interleaved scanner lines: each keeps its own time and step.
        let mut lines = [
            (3.0e5, 1.0e-5),
            (4.5e5, 2.5e-5),
            (1.0e8, 1.0e-3),
            (7.0, 1.0e-7),
            (2.0e5, 3.0e-6),
            (6.0e6, 5.0e-4),
        ];
        let mut line = 0usize;
        for i in 0..40_000 {
            let r = rng.next();
            match r % 100 {
                0..=54 => {} // the same line again
                55..=74 => line = (line + 1) % 3,
                75..=84 => line = (r >> 8) as usize % lines.len(),
                _ => {}
            }
            let (t, step) = &mut lines[line];
            if i % 5000 == 4999 {
                // Long runs of extremes, so that one becomes the line's step.
                for k in 0..6 {
                    out.push(*t + *step * (700 + k) as f64);
                }
            }
            let t_new = match (r >> 16) % 40 {
                0..=3 => *t,                                      // unchanged
                4..=5 => *t + *step * ((r >> 24) % 9 + 2) as f64, // small multiple
                6 => *t + *step * ((r >> 24) % 480 + 10) as f64,  // large multiple
                7 => *t + *step * 600.0,                          // beyond the largest
                8 => *t - *step * ((r >> 24) % 10 + 1) as f64,    // negative multiple
                9 => *t - *step * 40.0,                           // very negative
                10 => *t + 1.0e4,                                 // a jump: a new time
                // Any positive bit pattern (laz's encoder subtracts them as i64, unchecked).
                11 => f64::from_bits(rng.next() >> 2),
                12 => {
                    // The step changes (and stays within a few orders of magnitude).
                    *step = if *step > 1.0 {
                        *step / 81.0
                    } else {
                        *step * 3.0
                    };
                    *t + *step
                }
                _ => *t + *step,
            };
            // Times stay positive and finite: laz's encoder subtracts their bits as i64
            // without wrapping, which overflows between a positive and a negative time.
            if (r >> 16) % 40 == 11 {
                out.push(t_new); // a stray bit pattern does not move the line
                continue;
            }
            let t_new = if t_new > 0.0 && t_new < 1.0e12 {
                t_new
            } else {
                1.0e5 * (line + 1) as f64
            };
            out.push(t_new);
            *t = t_new;
        }
        out
    }

    fn compress(times: &[f64]) -> Vec<u8> {
        let mut c = SequentialPointRecordCompressor::new(Cursor::new(Vec::new()));
        c.add_field_compressor(laz::las::v2::GpsTimeCompressor::default());
        for t in times {
            c.compress_next(&t.to_le_bytes()).unwrap();
        }
        c.done().unwrap();
        c.into_inner().into_inner()
    }

    fn decompress(bytes: &[u8], n: usize) -> std::io::Result<Vec<u64>> {
        let mut d = SequentialPointRecordDecompressor::new(Cursor::new(bytes));
        d.add_field_decompressor(GpsTimeV2::default());
        let mut out = Vec::with_capacity(n);
        let mut buf = [0u8; 8];
        for _ in 0..n {
            d.decompress_next(&mut buf)?;
            out.push(u64::from_le_bytes(buf));
        }
        Ok(out)
    }

    #[test]
    fn decodes_what_laz_encodes_bit_for_bit() {
        let times = times();
        let bytes = compress(&times);
        let decoded = decompress(&bytes, times.len()).unwrap();
        let expected: Vec<u64> = times.iter().map(|t| t.to_bits()).collect();
        assert_eq!(decoded.len(), expected.len());
        for (i, (d, e)) in decoded.iter().zip(&expected).enumerate() {
            assert_eq!(
                d,
                e,
                "point {i}: {} != {}",
                f64::from_bits(*d),
                f64::from_bits(*e)
            );
        }
    }

    #[test]
    fn decodes_what_the_published_laz_decoder_decodes() {
        let times = times();
        let bytes = compress(&times);
        let mut d = SequentialPointRecordDecompressor::new(Cursor::new(&bytes[..]));
        d.add_field_decompressor(laz::las::v2::GpsTimeDecompressor::default());
        let mut buf = [0u8; 8];
        let theirs: Vec<u64> = (0..times.len())
            .map(|_| {
                d.decompress_next(&mut buf).unwrap();
                u64::from_le_bytes(buf)
            })
            .collect();
        assert_eq!(decompress(&bytes, times.len()).unwrap(), theirs);
    }

    #[test]
    fn endless_switches_are_an_error_not_a_recursion() {
        // Symbols decoded from all-0xFF bytes are the last of each model: "switch by 3" every
        // time, the stream the fuzz finding made; it must stop after MAX_SWITCHES.
        let mut bytes = 1.5f64.to_le_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(0xFF, 4096));
        let err = decompress(&bytes, 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert!(err.to_string().starts_with("corrupt GPS time: "), "{err}");
    }
}
