//! Finding line ends (CR and LF) in a chunk, and telling ASCII apart, fast.
//!
//! An event stream is made of short lines: calling a search function once per line costs
//! more in set-up than in scanning. The decoder instead turns 64 bytes at a time into a bit
//! mask of line-end positions ([`block_mask`]) and walks its bits; after [`LEAP_AFTER`]
//! empty blocks it leaps to the next line end with `memchr2`, so very long lines are
//! scanned at full vector speed.

pub(crate) const BLOCK: usize = 64;
/// Empty blocks in a row after which a line counts as long.
pub(crate) const LEAP_AFTER: u32 = 4;

/// Bit i is set when `bytes[i]` is CR or LF, for the first 64 bytes (or fewer).
#[inline]
pub(crate) fn block_mask(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(block) = bytes.first_chunk::<BLOCK>() {
            return (0..4).fold(0u64, |m, k| {
                m | (u64::from(sse2::mask16(&block[16 * k..])) << (16 * k))
            });
        }
        let mut m = 0u64;
        let mut k = 0;
        while let Some(block) = bytes.get(16 * k..16 * k + 16) {
            m |= u64::from(sse2::mask16(block)) << (16 * k);
            k += 1;
        }
        return m | (scalar_mask(&bytes[16 * k..]) << (16 * k));
    }
    #[allow(unreachable_code)]
    scalar_mask(bytes)
}

#[inline]
fn scalar_mask(bytes: &[u8]) -> u64 {
    bytes.iter().take(BLOCK).enumerate().fold(0, |m, (i, &b)| {
        m | (u64::from(b == b'\n' || b == b'\r') << i)
    })
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// The CR|LF mask of 16 bytes. SSE2 is part of every x86_64 CPU.
    #[inline]
    pub fn mask16(bytes: &[u8]) -> u16 {
        assert!(bytes.len() >= 16);
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always
        // available; the assertion guarantees 16 readable bytes for the unaligned load.
        unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>());
            let lf = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
            let cr = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8));
            _mm_movemask_epi8(_mm_or_si128(lf, cr)) as u16
        }
    }
}

/// True when every byte is ASCII. Folds 16 bytes at a time, which compiles to a few vector
/// instructions per block: several times cheaper than full UTF-8 validation on the ASCII
/// JSON that progress frames almost always are.
#[inline]
pub fn is_ascii(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(16);
    let mut acc = 0u128;
    for block in &mut blocks {
        if let Ok(block) = <[u8; 16]>::try_from(block) {
            acc |= u128::from_ne_bytes(block);
        }
    }
    let tail = blocks.remainder().iter().fold(0u8, |a, &b| a | b);
    acc & 0x8080_8080_8080_8080_8080_8080_8080_8080 == 0 && tail < 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_marks_exactly_cr_and_lf_at_every_length() {
        let bytes: Vec<u8> = (0..80u32)
            .map(|i| match i % 11 {
                0 => b'\n',
                4 => b'\r',
                7 => 0xC3,
                _ => b'a',
            })
            .collect();
        for start in 0..40 {
            for end in start..bytes.len() {
                let slice = &bytes[start..end];
                let expected = slice
                    .iter()
                    .take(BLOCK)
                    .enumerate()
                    .filter(|(_, &b)| b == b'\n' || b == b'\r')
                    .fold(0u64, |m, (i, _)| m | 1 << i);
                assert_eq!(block_mask(slice), expected, "{start}..{end}");
            }
        }
    }

    #[test]
    fn scalar_and_vector_masks_agree() {
        let bytes: Vec<u8> = (0..64u8)
            .map(|i| [b'\n', b'x', b'\r', b'\x8d'][usize::from(i % 4)])
            .collect();
        assert_eq!(block_mask(&bytes), scalar_mask(&bytes));
        assert_eq!(block_mask(&bytes[..20]), scalar_mask(&bytes[..20]));
    }

    #[test]
    fn ascii_check_matches_std() {
        for len in 0..70 {
            let mut v = vec![b'a'; len];
            assert!(is_ascii(&v));
            for at in 0..len {
                v[at] = 0x80;
                assert!(!is_ascii(&v), "len {len} at {at}");
                v[at] = b'a';
            }
        }
    }
}
