//! Command-line flags for a DTLS endpoint's [`Config`] (feature `cli`), shared by the binaries
//! that accept DTLS handshakes (`lwm2m-server --coaps`, the hosting `lwm2m-client`).

use std::time::Duration;

use crate::Config;

/// The `--dtls-*` flags; defaults are [`Config::default`].
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "DTLS limits (handshakes from peers)")]
pub struct DtlsLimits {
    /// Most DTLS peer states (handshakes plus sessions) at once
    #[arg(long, value_name = "N", default_value_t = Config::default().max_sessions)]
    pub dtls_max_sessions: usize,
    /// Most handshakes in progress at once
    #[arg(long, value_name = "N", default_value_t = Config::default().max_handshakes)]
    pub dtls_max_handshakes: usize,
    /// Most handshakes in progress from one source host (an IPv4 address or an IPv6 /64);
    /// a newer one replaces that host's oldest half-open handshake
    #[arg(long, value_name = "N", default_value_t = Config::default().max_handshakes_per_source)]
    pub dtls_max_handshakes_per_source: usize,
    /// Seconds a half-open handshake (nothing after the cookie-echoing ClientHello) is kept
    #[arg(long, value_name = "SECS", default_value_t = Config::default().half_open_timeout.as_secs())]
    pub dtls_half_open_timeout: u64,
    /// Seconds any unfinished handshake is kept
    #[arg(long, value_name = "SECS", default_value_t = Config::default().handshake_timeout.as_secs())]
    pub dtls_handshake_timeout: u64,
}

impl DtlsLimits {
    /// The endpoint configuration these flags describe (each count at least 1, each timeout
    /// at least 1 s).
    pub fn config(&self) -> Config {
        Config {
            max_sessions: self.dtls_max_sessions.max(1),
            max_handshakes: self.dtls_max_handshakes.max(1),
            max_handshakes_per_source: self.dtls_max_handshakes_per_source.max(1),
            half_open_timeout: Duration::from_secs(self.dtls_half_open_timeout.max(1)),
            handshake_timeout: Duration::from_secs(self.dtls_handshake_timeout.max(1)),
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Bin {
        #[command(flatten)]
        dtls: DtlsLimits,
    }

    #[test]
    fn defaults_are_the_config_defaults() {
        let b = Bin::try_parse_from(["bin"]).unwrap();
        assert_eq!(b.dtls.config(), Config::default());
    }

    #[test]
    fn flags_reach_the_config_and_zero_is_raised_to_one() {
        let b = Bin::try_parse_from([
            "bin",
            "--dtls-max-handshakes",
            "32",
            "--dtls-max-handshakes-per-source",
            "0",
            "--dtls-half-open-timeout",
            "3",
        ])
        .unwrap();
        let c = b.dtls.config();
        assert_eq!(c.max_handshakes, 32);
        assert_eq!(c.max_handshakes_per_source, 1);
        assert_eq!(c.half_open_timeout, Duration::from_secs(3));
        assert_eq!(c.max_sessions, Config::default().max_sessions);
        assert!(Bin::try_parse_from(["bin", "--dtls-max-sessions", "x"]).is_err());
    }
}
