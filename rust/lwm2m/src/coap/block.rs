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
        let _ = value;
        todo!("coap helper")
    }

    /// Encodes into a uint suitable for [`super::MessageBuilder::option_uint`].
    pub fn to_uint(self) -> u32 {
        todo!("coap helper")
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
