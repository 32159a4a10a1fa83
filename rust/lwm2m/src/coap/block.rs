//! The Block1 / Block2 option value (RFC 7959 section 2.2).

/// A block option value: block number, more flag and size exponent (size = 2^(szx+4)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Block number (up to 2^20 - 1).
    pub num: u32,
    /// More blocks follow.
    pub more: bool,
    /// Size exponent 0..=6 (16..=1024 bytes). 7 is reserved (BERT) and rejected.
    pub szx: u8,
}

impl Block {
    /// Decodes an option value (0..=3 bytes). `None` for a reserved SZX or an oversized value.
    pub fn decode(value: &[u8]) -> Option<Block> {
        if value.len() > 3 {
            return None;
        }
        let v = super::decode_uint(value).ok()?;
        let szx = (v & 7) as u8;
        (szx != 7).then_some(Block {
            num: v >> 4,
            more: v & 8 != 0,
            szx,
        })
    }

    /// Encodes into a uint suitable for [`super::MessageBuilder::option_uint`]. `num` must be
    /// below 2^20 for the value to fit the 3 bytes a peer accepts.
    pub fn to_uint(self) -> u32 {
        (self.num << 4) | (u32::from(self.more) << 3) | u32::from(self.szx & 7)
    }

    /// Block size in bytes.
    pub fn size(self) -> usize {
        16usize << self.szx
    }

    /// Byte offset of this block.
    pub fn offset(self) -> usize {
        self.num as usize * self.size()
    }

    /// The largest SZX whose block size fits in `bytes` (at least 0).
    pub fn szx_for(bytes: usize) -> u8 {
        let mut szx = 6u8;
        while szx > 0 && (16usize << szx) > bytes {
            szx -= 1;
        }
        szx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coap::encode_uint;
    use proptest::prelude::*;

    fn blk(num: u32, more: bool, szx: u8) -> Block {
        Block { num, more, szx }
    }

    #[test]
    fn rfc7959_values() {
        // (value, num, more, szx); 0x1a = 1 << 4 | M << 3 | 2 (RFC 7959 2.2).
        let cases: &[(&[u8], Block)] = &[
            (&[], blk(0, false, 0)),
            (&[0x1a], blk(1, true, 2)),
            (&[0x0e], blk(0, true, 6)),
            (&[0x26], blk(2, false, 6)),
            (&[0x01, 0x06], blk(16, false, 6)),
            (&[0xff, 0xff, 0xfe], blk(0xf_ffff, true, 6)),
        ];
        for (v, b) in cases {
            assert_eq!(Block::decode(v), Some(*b), "{v:02x?}");
            let mut o = [0; 4];
            assert_eq!(encode_uint(b.to_uint(), &mut o), *v);
        }
        // Leading zeros are tolerated.
        assert_eq!(Block::decode(&[0, 0x1a]), Some(blk(1, true, 2)));
        assert_eq!(Block::decode(&[0x17]), None); // SZX 7 (BERT)
        assert_eq!(Block::decode(&[0, 0, 0, 0x1a]), None); // longer than 3 bytes
        assert_eq!(blk(1, true, 2).size(), 64);
        assert_eq!(blk(3, false, 6).offset(), 3072);
        assert_eq!(Block::szx_for(100), 2);
        assert_eq!(Block::szx_for(1), 0);
        assert_eq!(Block::szx_for(5000), 6);
    }

    proptest! {
        #[test]
        fn round_trip(num in 0..(1u32 << 20), more: bool, szx in 0..7u8) {
            let b = blk(num, more, szx);
            let mut o = [0; 4];
            let v = encode_uint(b.to_uint(), &mut o);
            prop_assert!(v.len() <= 3);
            prop_assert_eq!(Block::decode(v), Some(b));
        }
    }
}
