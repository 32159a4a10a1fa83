//! Outgoing datagrams of the driver: handing them to the glue, and what the engine needs back
//! when one could not be sent (its token).

use lwm2m::engine::{Destination, Engine};

use crate::{
    lwm2m_c2c_glue_send, LWM2M_C2C_DEST_BOOTSTRAP, LWM2M_C2C_DEST_ENDPOINT, LWM2M_C2C_DEST_SERVER,
};

/// Hands `msg` to the glue for `dest` (the server's or bootstrap server's URI, or the peer
/// handle); returns what the glue returns (<= 0: not sent).
pub(crate) fn send(
    engine: &Engine<'_>,
    dest: Destination,
    msg: &mut [u8],
    confirmable: bool,
) -> isize {
    let (kind, id, uri) = match dest {
        Destination::Server(ssid) => (
            LWM2M_C2C_DEST_SERVER,
            u32::from(ssid),
            engine.security().by_ssid(ssid).map(|s| s.uri.as_str()),
        ),
        Destination::Bootstrap => (
            LWM2M_C2C_DEST_BOOTSTRAP,
            0,
            engine.security().bootstrap().map(|s| s.uri.as_str()),
        ),
        Destination::Endpoint(h) => (LWM2M_C2C_DEST_ENDPOINT, h, None),
    };
    let (uri_ptr, uri_len) = uri.map_or((core::ptr::null(), 0), |u| (u.as_ptr(), u.len()));
    // SAFETY: pointers are valid for the given lengths for the duration of the call; the C
    // side copies what it keeps (gcoap copies CON requests into its resend buffers).
    unsafe {
        lwm2m_c2c_glue_send(
            kind,
            id,
            uri_ptr,
            uri_len,
            msg.as_mut_ptr(),
            msg.len(),
            confirmable,
        )
    }
}

/// The token of the datagram `msg` (right after the 4-byte header; its length is in the low
/// nibble of the first byte), empty when malformed.
pub(crate) fn token_of(msg: &[u8]) -> heapless::Vec<u8, 8> {
    let tkl = usize::from(msg.first().map_or(0, |b| b & 0x0f));
    msg.get(4..4 + tkl)
        .and_then(|t| heapless::Vec::from_slice(t).ok())
        .unwrap_or_default()
}
