//! Machine-readable event lines: `EV <ms> <kind> <fields...>`, one per measurable event.
//!
//! The text after the kind is formatted here; the C glue (`lwm2m_c2c_glue_ev`) prefixes `EV`
//! and the ztimer millisecond clock and prints the line. The kinds and their fields are listed
//! in `c_glue/lwm2m_c2c/README.md`.

use core::ffi::c_char;
use core::fmt::{self, Write};

extern "C" {
    /// Prints `EV <ms> <text>` (C glue). `text` is NUL-terminated.
    fn lwm2m_c2c_glue_ev(text: *const c_char);
}

/// Longest event text; longer ones are cut.
const EV_LEN: usize = 160;

struct Buf {
    b: [u8; EV_LEN],
    n: usize,
}

impl Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &c in s.as_bytes() {
            // Keep one byte for the NUL; events are single lines.
            if self.n + 1 >= EV_LEN {
                break;
            }
            if let Some(d) = self.b.get_mut(self.n) {
                *d = if c == b'\n' || c == 0 { b' ' } else { c };
                self.n += 1;
            }
        }
        Ok(())
    }
}

/// Formats and prints one event line.
pub(crate) fn emit(args: fmt::Arguments<'_>) {
    let mut b = Buf {
        b: [0; EV_LEN],
        n: 0,
    };
    let _ = b.write_fmt(args);
    if let Some(z) = b.b.get_mut(b.n) {
        *z = 0;
    }
    // SAFETY: the buffer is NUL-terminated (its last byte is never written) and outlives
    // the call; the glue only prints it.
    unsafe { lwm2m_c2c_glue_ev(b.b.as_ptr().cast()) }
}

/// `ev!("kind {} {}", a, b)` prints `EV <ms> kind a b`.
macro_rules! ev {
    ($($arg:tt)*) => { $crate::ev::emit(format_args!($($arg)*)) };
}
pub(crate) use ev;

/// Displays a payload as text when it is printable ASCII (at most 40 bytes), else as
/// `<len>B`.
#[cfg_attr(not(feature = "c2c-auth"), allow(dead_code))]
pub(crate) struct Payload<'a>(pub &'a [u8]);

impl fmt::Display for Payload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        if p.is_empty() {
            return f.write_str("-");
        }
        if p.len() <= 40 && p.iter().all(|c| c.is_ascii_graphic()) {
            if let Ok(s) = core::str::from_utf8(p) {
                return f.write_str(s);
            }
        }
        write!(f, "{}B", p.len())
    }
}

/// Displays a CoAP code as `2.05`.
#[cfg_attr(not(any(feature = "c2c-auth", feature = "oscore")), allow(dead_code))]
pub(crate) struct Code(pub u8);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 >> 5, self.0 & 0x1f)
    }
}
