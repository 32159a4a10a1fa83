//! The engine's compile-time knobs: names, defaults, documentation and the checks of a value
//! given in the environment. Used by `build.rs` (which writes `config.rs` from them) and by
//! `tests/knobs.rs` (which checks the checks).

/// Every knob: environment variable, default, documentation (copied into `config.rs`).
pub const KNOBS: &[(&str, usize, &str)] = &[
    (
        "LWM2M_MAX_SERVERS",
        2,
        "LwM2M server accounts (instances of objects 0 / 1, bootstrap excluded).",
    ),
    (
        "LWM2M_MAX_ACL_INSTANCES",
        8,
        "Access Control (object 2) instances.",
    ),
    (
        "LWM2M_MAX_ACL_ENTRIES",
        4,
        "ACL resource instances per Access Control instance.",
    ),
    (
        "LWM2M_MAX_OBJECTS",
        16,
        "Objects (built-in and application) the engine can hold.",
    ),
    ("LWM2M_MAX_OBSERVATIONS", 8, "Concurrent observations."),
    (
        "LWM2M_MAX_COMPOSITE_OBSERVATIONS",
        2,
        "Concurrent Observe-Composite observations, each also taking one of the MAX_OBSERVATIONS slots (feature `observe-composite`; at most 255).",
    ),
    (
        "LWM2M_COMPOSITE_PATHS",
        4,
        "Paths of one Observe-Composite observation; a request with more gets 4.13 (feature `observe-composite`).",
    ),
    (
        "LWM2M_MAX_ATTRIBUTES",
        8,
        "Paths with Write-Attributes settings.",
    ),
    (
        "LWM2M_MAX_CLIENTS",
        4,
        "C2C client accounts (instances of objects 11000 / 11001 / 21; feature `c2c`).",
    ),
    (
        "LWM2M_MAX_CLIENT_ACL_INSTANCES",
        8,
        "Client Access Control (object 11002) instances (feature `c2c`).",
    ),
    (
        "LWM2M_HINT_SOURCES",
        4,
        "Sources (remote addresses) whose owner server hints are rate limited each by their own bucket (feature `c2c`; `engine::hint_limit`).",
    ),
    (
        "LWM2M_MAX_SEND_PATHS",
        8,
        "Paths in one Send (`Engine::send`, feature `send`).",
    ),
    ("LWM2M_URI_LEN", 64, "Bytes of a server URI."),
    (
        "LWM2M_KEY_LEN",
        32,
        "Bytes of a PSK identity, key or similar secret.",
    ),
    ("LWM2M_ENDPOINT_LEN", 32, "Bytes of the endpoint name."),
    (
        "LWM2M_BLOCK1_BUFFER",
        1024,
        "Bytes of a reassembled Block1 request payload.",
    ),
    (
        "LWM2M_LOCATION_LEN",
        32,
        "Bytes of a registration location (e.g. /rd/5a3f).",
    ),
    (
        "LWM2M_DEDUP_ENTRIES",
        4,
        "Requests remembered by duplicate detection (`coap::dedup`); the oldest goes first.",
    ),
    (
        "LWM2M_UPDATE_MARGIN_MS",
        93_000,
        "Milliseconds before the lifetime ends at which the Update is sent, so that its retransmissions end in time (RFC 7252 MAX_TRANSMIT_WAIT); never earlier than half the lifetime.",
    ),
    (
        "LWM2M_QUEUE_STORE_BYTES",
        256,
        "Bytes of notifications stored while a Queue Mode client sleeps, each with 7 bytes of bookkeeping; when full the oldest go first, counted (feature `queue-mode`).",
    ),
    (
        "LWM2M_FOTA_NAME_LEN",
        32,
        "Bytes of the Package Name in a firmware package's manifest; a longer one gets Update Result 6 (feature `fota`).",
    ),
    (
        "LWM2M_FOTA_VERSION_LEN",
        32,
        "Bytes of the Package Version in a firmware package's manifest; a longer one gets Update Result 6 (feature `fota`).",
    ),
    (
        "LWM2M_FOTA_TIMEOUT_MS",
        120_000,
        "Milliseconds a firmware download waits for its next block before it ends with Update Result 4 (feature `fota`).",
    ),
    (
        "LWM2M_FOTA_URI_LEN",
        128,
        "Bytes of a Package URI (/5/0/1) a pull takes; a longer one gets 4.13 Request Entity Too Large (feature `fota-pull`).",
    ),
    (
        "LWM2M_DEDUP_RESPONSE_LEN",
        160,
        "Response bytes kept per remembered request (`coap::dedup`; RAM: ENTRIES * (LEN + 40)).",
    ),
];

/// Knobs that size a bounded string, byte buffer or instance table of object state, whose length
/// is a `u16` (`objects::Len`): at most 65,535.
pub const U16_KNOBS: &[&str] = &[
    "LWM2M_MAX_SERVERS",
    "LWM2M_MAX_ACL_INSTANCES",
    "LWM2M_MAX_ACL_ENTRIES",
    "LWM2M_MAX_CLIENTS",
    "LWM2M_MAX_CLIENT_ACL_INSTANCES",
    "LWM2M_URI_LEN",
    "LWM2M_KEY_LEN",
    "LWM2M_ENDPOINT_LEN",
    "LWM2M_LOCATION_LEN",
    "LWM2M_FOTA_URI_LEN",
];

/// The value of knob `name`: `raw` (the environment variable's text, if set) or `default`.
/// Errors name the knob and say what is wrong: not a number, 0, or over 65,535 for a knob in
/// [`U16_KNOBS`].
pub fn value(name: &str, raw: Option<&str>, default: usize) -> Result<usize, String> {
    let value = match raw {
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("{name}={v:?} is not a number"))?,
        None => default,
    };
    if value == 0 {
        return Err(format!("{name} must be at least 1"));
    }
    if value > usize::from(u16::MAX) && U16_KNOBS.contains(&name) {
        return Err(format!(
            "{name}={value} is larger than 65535: object state keeps its lengths as u16 (objects::Len)"
        ));
    }
    Ok(value)
}
