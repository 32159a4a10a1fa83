//! What a client started with [`super::spawn`] is made of: [`ClientConfig`] (servers with
//! their PSK or OSCORE credentials, bootstrap, sensors, timing), and [`ClientError`].

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use lwm2m::objects::security::mode;
use zeroize::Zeroizing;

use crate::objects::{MAX_LIGHTS, MAX_SENSORS};
use crate::oscore::OscoreParams;
use crate::transmission::TransmissionParams;
use crate::uri::{Scheme, ServerUri, UriError};

/// A DTLS pre-shared key: identity and key. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Psk {
    /// PSK identity.
    pub identity: Vec<u8>,
    /// The key (1 to 16 bytes).
    pub key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Psk")
            .field("identity", &String::from_utf8_lossy(&self.identity))
            .field("key", &format_args!("<{} bytes redacted>", self.key.len()))
            .finish()
    }
}

impl Psk {
    /// Parses `IDENTITY,KEY_HEX` (the identity as text). Errors never echo the key.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (id, key) = s.rsplit_once(',').ok_or("PSK is IDENTITY,KEY_HEX")?;
        let key = Zeroizing::new(crate::oscore::unhex(key).ok_or("PSK key: bad hex")?);
        if id.is_empty() || id.len() > lwm2m_dtls::MAX_IDENTITY_LEN {
            return Err(format!(
                "PSK identity must have 1..={} bytes",
                lwm2m_dtls::MAX_IDENTITY_LEN
            ));
        }
        if key.is_empty() || key.len() > lwm2m_dtls::MAX_KEY_LEN {
            return Err(format!(
                "PSK key must have 1..={} bytes",
                lwm2m_dtls::MAX_KEY_LEN
            ));
        }
        Ok(Psk {
            identity: id.as_bytes().to_vec(),
            key,
        })
    }
}

/// A DM server account of a [`ClientConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// Short Server ID.
    pub ssid: u16,
    /// `coap://host:port` or `coaps://host:port`.
    pub uri: String,
    /// PSK identity and key (Security mode 0); required for `coaps://`.
    pub psk: Option<Psk>,
    /// OSCORE context parameters: at start they become an OSCORE (21) instance
    /// ([`server_oscore_instance`](super::server_oscore_instance)) that res 17 of the account's Security instance links.
    pub oscore: Option<OscoreParams>,
}

impl ServerSpec {
    /// A NoSec account.
    pub fn new(ssid: u16, uri: &str) -> Self {
        ServerSpec {
            ssid,
            uri: uri.into(),
            psk: None,
            oscore: None,
        }
    }
}

/// Configuration of a client started with [`spawn`](super::spawn).
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Endpoint client name (also the Device serial number).
    pub endpoint: String,
    /// DM servers.
    pub servers: Vec<ServerSpec>,
    /// Bootstrap server URI.
    pub bootstrap: Option<String>,
    /// Registration lifetime in seconds.
    pub lifetime: u32,
    /// Local address; default: the wildcard of the first server's address family, port 0.
    pub bind: Option<SocketAddr>,
    /// Simulated IPSO temperature sensors (object 3303 is absent when 0).
    pub temperatures: usize,
    /// How often the simulated readings change; `None`: never by themselves.
    pub period: Option<Duration>,
    /// Pre-created Light Control (3311) instances.
    pub lights: usize,
    /// INSECURE (tests only): serve every peer no account matches (unauthenticated, or a
    /// DTLS / OSCORE peer with credentials of no server) as this server.
    pub accept_any_peer_as: Option<u16>,
    /// Identities and keys this client accepts DTLS handshakes with (it acts as DTLS server
    /// for them on its socket). A session whose identity is a server account's PSK identity
    /// is that server.
    pub listen_psks: Vec<Psk>,
    /// Where OSCORE sequence numbers are persisted (`None`: not persisted, the material must
    /// be fresh each run).
    pub oscore_seqno_file: Option<std::path::PathBuf>,
    /// Stop (after de-registering) this long after the start.
    pub duration: Option<Duration>,
    /// How long the shutdown waits for the De-register answers.
    pub deregister_timeout: Duration,
    /// Message-layer parameters.
    pub tx: TransmissionParams,
    /// Seed for tokens, message IDs, jitter and the simulation (`None`: random).
    pub seed: Option<u64>,
    /// Limits of the client's DTLS server role (listener PSKs, hosting C2C peers).
    pub dtls_server: lwm2m_dtls::Config,
    /// Send (`POST /dp`) these paths to every registered server every [`Self::send_period`]
    /// (empty: no periodic Send; [`ClientHandle::send`](super::ClientHandle::send) sends on
    /// demand).
    pub send_paths: Vec<lwm2m::Path>,
    /// Period of the periodic Send (required with [`Self::send_paths`]).
    pub send_period: Option<Duration>,
    /// Content-Format of the periodic Send: SenML CBOR (112, default) or LwM2M CBOR (11544).
    pub send_format: u16,
    /// Queue Mode with this awake time in milliseconds (`None`: off; `--queue-mode`,
    /// `--awake-ms`, default [`lwm2m::engine::DEFAULT_AWAKE_MS`]).
    pub queue_awake_ms: Option<u32>,
    /// Firmware Update (object 5): pushed images go to this directory
    /// ([`crate::firmware::FileSink`]); `None`: no object 5.
    pub fota_dir: Option<std::path::PathBuf>,
    /// Command run on Update (Execute /5/0/2); exit status 0 is success.
    pub fota_hook: Option<String>,
    /// How a Package URI (/5/0/1) is pulled: Block2 size, retries of a block
    /// (`--fota-block`, `--fota-pull-retries`).
    pub fota_pull: super::PullOptions,
}

impl ClientConfig {
    /// A client named `endpoint` with no server yet, lifetime 300 s, no sensors or lights.
    pub fn new(endpoint: &str) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            servers: Vec::new(),
            bootstrap: None,
            lifetime: 300,
            bind: None,
            temperatures: 0,
            period: None,
            lights: 0,
            accept_any_peer_as: None,
            listen_psks: Vec::new(),
            oscore_seqno_file: None,
            duration: None,
            deregister_timeout: Duration::from_secs(3),
            tx: TransmissionParams::default(),
            seed: None,
            dtls_server: lwm2m_dtls::Config::default(),
            send_paths: Vec::new(),
            send_period: None,
            send_format: lwm2m::coap::content_format::SENML_CBOR,
            queue_awake_ms: None,
            fota_dir: None,
            fota_hook: None,
            fota_pull: Default::default(),
        }
    }

    /// Adds a DM server with the next free Short Server ID (1, 2, ...).
    pub fn server(mut self, uri: &str) -> Self {
        let ssid = (1..).find(|s| self.servers.iter().all(|x| x.ssid != *s));
        self.servers.push(ServerSpec::new(ssid.unwrap_or(1), uri));
        self
    }

    /// Adds a `coaps://` DM server with a PSK identity and key (Security mode 0).
    pub fn dtls_server(mut self, uri: &str, identity: &[u8], key: &[u8]) -> Self {
        self = self.server(uri);
        if let Some(s) = self.servers.last_mut() {
            s.psk = Some(Psk {
                identity: identity.to_vec(),
                key: Zeroizing::new(key.to_vec()),
            });
        }
        self
    }

    /// Adds a `coap://` DM server protected with OSCORE.
    pub fn oscore_server(mut self, uri: &str, params: OscoreParams) -> Self {
        self = self.server(uri);
        if let Some(s) = self.servers.last_mut() {
            s.oscore = Some(params);
        }
        self
    }

    /// Checks names, counts, URIs and credentials (`coaps://` needs a PSK, a PSK needs
    /// `coaps://`; at most one OSCORE server, since one sequence-number file serves one
    /// context).
    pub fn validate(&self) -> Result<(), ClientError> {
        let bad = |s: String| Err(ClientError::Config(s));
        if self.endpoint.is_empty() || self.endpoint.len() > lwm2m::config::ENDPOINT_LEN {
            return bad(format!(
                "endpoint name must have 1..={} bytes",
                lwm2m::config::ENDPOINT_LEN
            ));
        }
        if self.servers.is_empty() && self.bootstrap.is_none() {
            return bad("need at least one --server or a --bootstrap server".into());
        }
        if self.send_paths.len() > lwm2m::config::MAX_SEND_PATHS {
            return bad(format!(
                "at most {} Send paths (LWM2M_MAX_SEND_PATHS)",
                lwm2m::config::MAX_SEND_PATHS
            ));
        }
        if !self.send_paths.is_empty() && self.send_period.is_none_or(|p| p.is_zero()) {
            return bad("Send paths need a send period above 0".into());
        }
        if self.servers.len() > lwm2m::config::MAX_SERVERS {
            return bad(format!("at most {} servers", lwm2m::config::MAX_SERVERS));
        }
        for (i, s) in self.servers.iter().enumerate() {
            if s.ssid == 0 || s.ssid == 65535 {
                return bad(format!("Short Server ID {} out of 1..=65534", s.ssid));
            }
            if self.servers[..i].iter().any(|p| p.ssid == s.ssid) {
                return bad(format!("Short Server ID {} used twice", s.ssid));
            }
        }
        let uris = self.servers.iter().map(|s| &s.uri).chain(&self.bootstrap);
        for u in uris {
            if u.len() > lwm2m::config::URI_LEN {
                return bad(format!(
                    "URI {u:?} longer than {} bytes",
                    lwm2m::config::URI_LEN
                ));
            }
            ServerUri::parse(u).map_err(|e| ClientError::Uri(u.clone(), e))?;
        }
        for s in &self.servers {
            let scheme = ServerUri::parse(&s.uri)
                .map_err(|e| ClientError::Uri(s.uri.clone(), e))?
                .scheme;
            match (scheme, &s.psk) {
                (Scheme::Coaps, None) => {
                    return bad(format!("{}: coaps:// needs a PSK (--psk ID,KEY)", s.uri))
                }
                (Scheme::Coap, Some(_)) => {
                    return bad(format!("{}: a PSK needs a coaps:// URI", s.uri))
                }
                _ => {}
            }
        }
        if let Some(b) = &self.bootstrap {
            if ServerUri::parse(b).is_ok_and(|u| u.scheme == Scheme::Coaps) {
                return bad(format!(
                    "{b}: a coaps:// bootstrap server is not supported (no bootstrap PSK option)"
                ));
            }
        }
        if self.servers.iter().filter(|s| s.oscore.is_some()).count() > 1 {
            return bad("at most one OSCORE server".into());
        }
        if self.lifetime == 0 {
            return bad("lifetime must be at least 1 s".into());
        }
        if self.temperatures > MAX_SENSORS {
            return bad(format!("at most {MAX_SENSORS} temperature sensors"));
        }
        if self.lights > MAX_LIGHTS {
            return bad(format!("at most {MAX_LIGHTS} lights"));
        }
        if self
            .accept_any_peer_as
            .is_some_and(|s| s == 0 || s == 65535)
        {
            return bad("--accept-any-peer-as needs a Short Server ID 1..=65534".into());
        }
        if self.period.is_some_and(|p| p.is_zero()) {
            return bad("period must be positive".into());
        }
        Ok(())
    }

    /// The address to bind: [`ClientConfig::bind`], else the wildcard address (port 0) of
    /// the family of the first server's (or the bootstrap server's) first address.
    pub fn bind_addr(&self) -> Result<SocketAddr, ClientError> {
        if let Some(b) = self.bind {
            return Ok(b);
        }
        let first = self
            .servers
            .first()
            .map(|s| &s.uri)
            .or(self.bootstrap.as_ref());
        let v4 = match first {
            Some(u) => {
                let parsed = ServerUri::parse(u).map_err(|e| ClientError::Uri(u.clone(), e))?;
                let addrs = parsed
                    .resolve()
                    .map_err(|e| ClientError::Uri(u.clone(), e))?;
                addrs.first().is_some_and(|a| a.is_ipv4())
            }
            None => false,
        };
        let ip: IpAddr = if v4 {
            Ipv4Addr::UNSPECIFIED.into()
        } else {
            Ipv6Addr::UNSPECIFIED.into()
        };
        Ok(SocketAddr::new(ip, 0))
    }
}

/// Why a client could not start or a command failed.
#[derive(Debug)]
pub enum ClientError {
    /// Invalid configuration.
    Config(String),
    /// A server URI is unusable.
    Uri(String, UriError),
    /// Binding the socket failed.
    Io(io::Error),
    /// The engine refused the configuration or a value.
    Engine(lwm2m::Error),
    /// The engine refused a Send.
    Send(lwm2m::engine::SendError),
    /// The client thread is gone or did not answer in time.
    Stopped,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(s) => f.write_str(s),
            ClientError::Uri(u, e) => write!(f, "{u}: {e}"),
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Engine(e) => write!(f, "engine: {e}"),
            ClientError::Send(e) => write!(f, "send: {e}"),
            ClientError::Stopped => f.write_str("the client is not running"),
        }
    }
}

impl std::error::Error for ClientError {}

/// The error text for a Security Mode the host runtime does not implement.
pub fn unsupported_mode(m: u8) -> String {
    match m {
        mode::RPK => "security mode 1 (raw public key) is not supported".into(),
        mode::CERTIFICATE => "security mode 2 (certificate) is not supported".into(),
        mode::EST => "security mode 4 (certificate with EST) is not supported".into(),
        m => format!("unknown security mode {m}"),
    }
}
