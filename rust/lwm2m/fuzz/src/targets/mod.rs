//! One module per fuzz target; each `run(data)` panics when one of its oracles fails.

pub mod access_request;
pub mod coap_message;
pub mod dtls_record;
pub mod engine_request;
pub mod link;
pub mod lwm2m_cbor;
pub mod oscore_option;
pub mod policy;
pub mod senml_cbor;
pub mod text;
pub mod tlv;

/// A target's entry point.
pub type Target = fn(&[u8]);

/// Every target by name (the names of `fuzz_targets/*.rs` and of the `seeds/` folders).
pub const ALL: [(&str, Target); 11] = [
    ("access_request", access_request::run),
    ("coap_message", coap_message::run),
    ("dtls_record", dtls_record::run),
    ("engine_request", engine_request::run),
    ("link", link::run),
    ("lwm2m_cbor", lwm2m_cbor::run),
    ("oscore_option", oscore_option::run),
    ("policy", policy::run),
    ("senml_cbor", senml_cbor::run),
    ("text", text::run),
    ("tlv", tlv::run),
];
