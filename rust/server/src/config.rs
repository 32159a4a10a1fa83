//! Server configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::bootstrap::BootstrapConfig;
use crate::layer::TransmissionParams;

/// Everything [`crate::Server::start`] needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// CoAP (UDP) bind address, default `[::]:5683` (IPv6 and IPv4-mapped).
    pub coap_addr: String,
    /// HTTP API bind address; `None` disables the HTTP API.
    pub http_addr: Option<String>,
    /// How long an API call waits for the client's answer.
    pub request_timeout: Duration,
    /// CoAP transmission parameters.
    pub transmission: TransmissionParams,
    /// How often registration lifetimes are checked.
    pub expiry_check_interval: Duration,
    /// Capacity of the duplicate-detection cache.
    pub dedup_capacity: usize,
    /// Largest response body assembled from Block2 blocks.
    pub max_body: usize,
    /// Bootstrap configurations by endpoint name (`*` matches any endpoint). Empty: the
    /// bootstrap interface answers 4.00 to everyone.
    pub bootstrap: BTreeMap<String, BootstrapConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            coap_addr: "[::]:5683".into(),
            http_addr: None,
            request_timeout: Duration::from_secs(30),
            transmission: TransmissionParams::default(),
            expiry_check_interval: Duration::from_millis(500),
            dedup_capacity: 4096,
            max_body: 1 << 20,
            bootstrap: BTreeMap::new(),
        }
    }
}
