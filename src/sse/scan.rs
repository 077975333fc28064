//! Finding line ends (CR and LF) in a chunk, and telling ASCII apart, fast.
//!
//! An event stream is made of short lines: calling a search function once per line costs
//! more in set-up than in scanning. The decoder instead turns 64 bytes at a time into a bit
//! mask of candidate line-end positions ([`block_mask`]) and walks its bits; after
//! [`LEAP_AFTER`] empty blocks it leaps to the next line end with `memchr2`, so very long
//! lines are scanned at full vector speed.
//!
//! The mask marks every byte from 0x08 to 0x0F, a range that holds CR (0x0D) and LF (0x0A):
//! one compare per 16 bytes instead of two. The other bytes of that range (backspace,
//! tab, vertical tab, form feed, shift out/in) are rare in event streams, and the decoder
//! skips them with one look at the byte ([`is_line_end`]).

pub(crate) const BLOCK: usize = 64;
/// Empty blocks in a row after which a line counts as long.
pub(crate) const LEAP_AFTER: u32 = 4;

/// Bit i is set when `bytes[i]` is a candidate line end: CR or LF, or another byte from
/// 0x08 to 0x0F. For the first 64 bytes (or fewer).
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
    bytes
        .iter()
        .take(BLOCK)
        .enumerate()
        .fold(0, |m, (i, &b)| m | (u64::from(b & 0xF8 == 0x08) << i))
}

/// Whether a candidate from [`block_mask`] really ends a line.
#[inline(always)]
pub(crate) fn is_line_end(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// The candidate mask of 16 bytes: `b | 7 == 0x0F`, true for 0x08..=0x0F. SSE2 is part
    /// of every x86_64 CPU.
    #[inline]
    pub fn mask16(bytes: &[u8]) -> u16 {
        assert!(bytes.len() >= 16);
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always
        // available; the assertion guarantees 16 readable bytes for the unaligned load.
        unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>());
            let folded = _mm_or_si128(v, _mm_set1_epi8(0x07));
            _mm_movemask_epi8(_mm_cmpeq_epi8(folded, _mm_set1_epi8(0x0F))) as u16
        }
    }
}

const LO8: u64 = 0x0101_0101_0101_0101;
const HI8: u64 = 0x8080_8080_8080_8080;

/// True when every byte is ASCII. Folds 16 bytes at a time, which compiles to a few vector
/// instructions per block: several times cheaper than full UTF-8 validation on the ASCII
/// JSON that progress frames almost always are. The last bytes are read as one (overlapping)
/// word instead of one at a time.
#[inline]
pub fn is_ascii(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 16 {
        return fold_short(bytes) & HI8 == 0;
    }
    let (blocks, _) = bytes.as_chunks::<16>();
    let mut acc = blocks
        .iter()
        .fold(0u128, |acc, block| acc | u128::from_ne_bytes(*block));
    if let Some(last) = bytes.last_chunk::<16>() {
        acc |= u128::from_ne_bytes(*last);
    }
    acc & (u128::from(HI8) << 64 | u128::from(HI8)) == 0
}

/// Whether `bytes` hold a NUL byte, and whether they are all ASCII: one pass, a word at a
/// time (for `id` values, a handful of bytes each).
#[inline]
pub fn nul_and_ascii(bytes: &[u8]) -> (bool, bool) {
    // A word has a zero byte exactly when this is non-zero (the classic SWAR test: a
    // borrow can only start at a zero byte).
    let has_zero = |w: u64| w.wrapping_sub(LO8) & !w & HI8 != 0;
    if bytes.len() < 8 {
        // Missing bytes padded with 0x01, which is neither NUL nor past ASCII.
        let pad = if bytes.len() >= 4 {
            0
        } else {
            LO8 << (8 * bytes.len())
        };
        let w = fold_short_exact(bytes) | pad;
        return (has_zero(w), w & HI8 == 0);
    }
    let (words, _) = bytes.as_chunks::<8>();
    let mut nul = false;
    let mut all = 0u64;
    for word in words {
        let w = u64::from_le_bytes(*word);
        nul |= has_zero(w);
        all |= w;
    }
    if let Some(last) = bytes.last_chunk::<8>() {
        let w = u64::from_le_bytes(*last);
        nul |= has_zero(w);
        all |= w;
    }
    (nul, all & HI8 == 0)
}

/// Byte-equality for short values (an event type, most often), with word compares instead
/// of a call to `memcmp`.
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        (Some(a8), Some(b8)) if a.len() <= 16 => {
            a8 == b8 && a.last_chunk::<8>() == b.last_chunk::<8>()
        }
        _ if a.len() < 8 => fold_short_exact(a) == fold_short_exact(b),
        _ => a == b,
    }
}

fn first4(bytes: &[u8]) -> [u8; 4] {
    bytes.first_chunk::<4>().copied().unwrap_or_default()
}

fn last4(bytes: &[u8]) -> [u8; 4] {
    bytes.last_chunk::<4>().copied().unwrap_or_default()
}

/// Up to 7 bytes ORed into a word: two overlapping 4-byte loads from 4 bytes on, single
/// bytes below (good for an all-bytes test such as "any high bit", not for positions).
#[inline]
fn fold_short(bytes: &[u8]) -> u64 {
    if let (Some(a), Some(b)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        return u64::from_le_bytes(*a) | u64::from_le_bytes(*b);
    }
    if bytes.len() >= 4 {
        return u64::from(u32::from_le_bytes(first4(bytes)))
            | u64::from(u32::from_le_bytes(last4(bytes)));
    }
    bytes
        .iter()
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
}

/// Up to 7 bytes as a word, exactly (the two overlapping 4-byte halves side by side, so
/// equal words mean equal bytes for slices of one length).
#[inline]
fn fold_short_exact(bytes: &[u8]) -> u64 {
    if bytes.len() >= 4 {
        return u64::from(u32::from_le_bytes(first4(bytes)))
            | u64::from(u32::from_le_bytes(last4(bytes))) << 32;
    }
    bytes
        .iter()
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_marks_exactly_the_candidates_at_every_length() {
        let bytes: Vec<u8> = (0..80u32)
            .map(|i| match i % 13 {
                0 => b'\n',
                4 => b'\r',
                7 => 0xC3,
                9 => b'\t',
                10 => 0x8D, // CR's low bits, but past ASCII
                11 => 0x07,
                12 => 0x10,
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
                    .filter(|(_, &b)| (0x08..=0x0F).contains(&b))
                    .fold(0u64, |m, (i, _)| m | 1 << i);
                assert_eq!(block_mask(slice), expected, "{start}..{end}");
            }
        }
    }

    #[test]
    fn scalar_and_vector_masks_agree() {
        let bytes: Vec<u8> = (0..64u8)
            .map(|i| [b'\n', b'x', b'\r', b'\x8d', b'\t', 0x0F, 0x10][usize::from(i % 7)])
            .collect();
        assert_eq!(block_mask(&bytes), scalar_mask(&bytes));
        assert_eq!(block_mask(&bytes[..20]), scalar_mask(&bytes[..20]));
    }

    #[test]
    fn word_helpers_match_their_byte_definitions() {
        let alphabet = [0u8, b'a', b'b', 0x7f, 0x80, 0xff, b'1'];
        for len in 0..40usize {
            for seed in 0..60usize {
                let bytes: Vec<u8> = (0..len)
                    .map(|i| alphabet[(i * 7 + seed * 13 + i * i * seed) % alphabet.len()])
                    .collect();
                let nul = bytes.contains(&0);
                assert_eq!(nul_and_ascii(&bytes), (nul, bytes.is_ascii()), "{bytes:?}");
                assert_eq!(is_ascii(&bytes), bytes.is_ascii(), "{bytes:?}");
                for other_seed in 0..8usize {
                    let mut other = bytes.clone();
                    if let Some(b) = other.get_mut((other_seed * 5) % len.max(1)) {
                        *b = alphabet[other_seed % alphabet.len()];
                    }
                    assert_eq!(
                        same_bytes(&bytes, &other),
                        bytes == other,
                        "{bytes:?} {other:?}"
                    );
                    assert!(!same_bytes(&bytes, &other[..len.saturating_sub(1)]) || len == 0);
                }
            }
        }
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
