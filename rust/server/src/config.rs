//! Server configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::access::c2c::{InstallMode, SecurityMode};
use crate::access::limit::AcRateLimit;
use crate::access::policy::Policy;
use crate::bootstrap::BootstrapConfig;
use crate::transport::layer::TransmissionParams;
use crate::transport::secure::Credentials;

/// Default account lifetime (s) written to 11001 res 1 when the policy sets no lower cap.
pub const DEFAULT_C2C_LIFETIME: u32 = 3600;

/// Client-to-client authorization (`POST /ac`) settings.
#[derive(Clone, Debug)]
pub struct C2cConfig {
    /// The policy in force at start.
    pub policy: Policy,
    /// The file the policy is (re)loaded from (`--policy`); `None`: reload is refused.
    pub policy_file: Option<PathBuf>,
    /// Security mode of the accounts installed (`--c2c-security`).
    pub security: SecurityMode,
    /// How accounts are installed (`--c2c-install`).
    pub install: InstallMode,
    /// Content-Format of the Write-Composite installs: `None` picks the smaller of SenML CBOR
    /// and LwM2M CBOR for each message (`--c2c-format`).
    pub format: Option<u16>,
    /// Account lifetime (s, 0 = forever) when no policy rule caps it (`--c2c-lifetime`).
    pub default_lifetime: u32,
    /// This server's Short Server ID at the hosting clients, written as owner (11002 res 3),
    /// unless a bootstrap configuration of the host's endpoint names another (`--c2c-ssid`).
    pub short_server_id: u16,
    /// Set by a signal handler (SIGHUP in the binary); the event loop reloads the policy file
    /// when it finds it set.
    pub reload_flag: Option<Arc<AtomicBool>>,
    /// Where grants, pairs and the IDs handed out are kept across restarts (`--state`, see
    /// [`crate::access::state`]); `None`: in memory only.
    pub state_file: Option<PathBuf>,
    /// The per-requester rate limit of `POST /ac` (`--ac-burst`, `--ac-refill-secs`).
    pub rate_limit: AcRateLimit,
}

impl Default for C2cConfig {
    fn default() -> Self {
        C2cConfig {
            policy: Policy::default(),
            policy_file: None,
            security: SecurityMode::Psk,
            install: InstallMode::Composite,
            format: None,
            default_lifetime: DEFAULT_C2C_LIFETIME,
            short_server_id: 1,
            reload_flag: None,
            state_file: None,
            rate_limit: AcRateLimit::default(),
        }
    }
}

/// Limits and credential of the HTTP API ([`crate::api::http`]); the binary's `--http-*` and
/// `--api-token-file` flags.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Open connections at most (`--http-max-connections`); one more is answered 503 and
    /// closed at once.
    pub max_connections: usize,
    /// Request line and headers must arrive within this time (`--http-header-timeout`),
    /// else the connection is closed (slow clients).
    pub header_timeout: std::time::Duration,
    /// The body must arrive within this time after the headers (`--http-body-timeout`).
    pub body_timeout: std::time::Duration,
    /// Largest request line plus headers in bytes (`--http-max-head`, at least 8192: the
    /// smallest read buffer of hyper); larger heads get 431 and the connection is closed.
    pub max_head: usize,
    /// Largest request body in bytes (`--http-max-body`); larger bodies get 413.
    pub max_body: usize,
    /// Threads that run LwM2M operations for the API at the same time (`--http-workers`);
    /// further requests wait for one.
    pub workers: usize,
    /// Bearer token every request must carry (`Authorization: Bearer <token>`), read from
    /// `--api-token-file`. Required when the API is bound to a non-loopback address.
    pub token: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 64,
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(10),
            max_head: 16 * 1024,
            max_body: 1 << 20,
            workers: 8,
            token: None,
        }
    }
}

/// Everything [`crate::Server::start`] needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// CoAP (UDP) bind address, default `[::]:5683` (IPv6 and IPv4-mapped).
    pub coap_addr: String,
    /// HTTP API bind address; `None` disables the HTTP API.
    pub http_addr: Option<String>,
    /// HTTP API limits and token.
    pub http: HttpConfig,
    /// How long an API call waits for the client's answer.
    pub request_timeout: Duration,
    /// CoAP transmission parameters.
    pub transmission: TransmissionParams,
    /// Times one block of a Block1 request (a firmware push) is sent again, with a new
    /// message ID, after the message layer gave up on it (`--block1-retries`); then the
    /// request fails with a timeout.
    pub block1_retries: u32,
    /// How often registration lifetimes are checked.
    pub expiry_check_interval: Duration,
    /// Capacity of the duplicate-detection cache.
    pub dedup_capacity: usize,
    /// Bounds of the registry (`--max-registrations`, `--max-lifetime`).
    pub registrations: crate::registration::RegistryLimits,
    /// Limits of the DTLS listener (`--dtls-*`): sessions, handshakes, handshakes per source
    /// host, half-open and handshake timeouts ([`lwm2m_dtls::Config`]).
    pub dtls: lwm2m_dtls::Config,
    /// Largest response body assembled from Block2 blocks.
    pub max_body: usize,
    /// Bootstrap configurations by endpoint name (`*` matches any endpoint). Empty: the
    /// bootstrap interface answers 4.00 to everyone.
    pub bootstrap: BTreeMap<String, BootstrapConfig>,
    /// Client-to-client authorization.
    pub c2c: C2cConfig,
    /// DTLS-PSK listener bind address (`--coaps`); `None`: no DTLS.
    pub coaps_addr: Option<String>,
    /// PSK table and OSCORE clients. An endpoint listed here may only register (and be
    /// served) over its secure channel; NoSec registrations of it are refused.
    pub credentials: Credentials,
    /// Persist the OSCORE sequence numbers of the server's contexts (`--oscore-seqno-file`,
    /// RFC 8613 B.1.1): one file per OSCORE client, this path with `.kid-<recipient ID hex>`
    /// appended. `None`: give fresh OSCORE material after every server restart.
    pub oscore_seqno_file: Option<PathBuf>,
    /// Queue Mode clients: the awake time the server assumes, the requests queued per
    /// sleeping client.
    pub queue: crate::server::QueueConfig,
}

impl Config {
    /// The Sender and Recipient IDs of the server's own OSCORE contexts, by client endpoint
    /// (`--oscore-client`), which C2C contexts of that client must not reuse.
    pub fn oscore_ids(&self) -> BTreeMap<String, Vec<Vec<u8>>> {
        let mut out: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for o in &self.credentials.oscore {
            let ids = out.entry(o.endpoint.clone()).or_default();
            ids.push(o.params.sender_id.clone());
            ids.push(o.params.recipient_id.clone());
        }
        out
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            coap_addr: "[::]:5683".into(),
            http_addr: None,
            http: HttpConfig::default(),
            request_timeout: Duration::from_secs(30),
            block1_retries: 3,
            transmission: TransmissionParams::default(),
            expiry_check_interval: Duration::from_millis(500),
            dedup_capacity: 4096,
            registrations: crate::registration::RegistryLimits::default(),
            dtls: lwm2m_dtls::Config::default(),
            max_body: 1 << 20,
            bootstrap: BTreeMap::new(),
            c2c: C2cConfig::default(),
            coaps_addr: None,
            credentials: Credentials::default(),
            oscore_seqno_file: None,
            queue: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oscore_ids_of_the_server_contexts() {
        let mut c = Config::default();
        for spec in ["lamp,0102,,01,02", "lamp,0304,,0a,", "switch,0506,,,0b"] {
            c.credentials
                .oscore
                .push(Credentials::parse_oscore_client(spec).unwrap());
        }
        let ids = c.oscore_ids();
        let lamp: Vec<&[u8]> = ids["lamp"].iter().map(Vec::as_slice).collect();
        assert_eq!(lamp, [&[2][..], &[1], &[], &[0x0a]]);
        let switch: Vec<&[u8]> = ids["switch"].iter().map(Vec::as_slice).collect();
        assert_eq!(switch, [&[0x0b][..], &[]]);
    }
}
