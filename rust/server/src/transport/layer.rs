//! CoAP message-layer bookkeeping (RFC 7252 section 4): the retransmission schedule of the
//! server's confirmable messages, the deduplication cache for incoming messages, and message
//! ID / token generation. These are the std endpoint's shared blocks
//! ([`lwm2m_endpoint::transmission`], [`lwm2m_endpoint::clock::Rng`]), the same the host
//! client's message layer is built on; the server schedules them on [`std::time::Instant`].

pub use lwm2m_endpoint::clock::Rng;
pub use lwm2m_endpoint::transmission::{
    Dedup, DedupCache, IdGen, Retransmission, RetransmitAction, TransmissionParams,
};
