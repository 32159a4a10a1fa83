//! LwM2M server URIs (`coap://host:port`, `coaps://...`) as stored in the Security object, and
//! their resolution to socket addresses.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Default CoAP port (RFC 7252 section 6.1).
pub const COAP_PORT: u16 = 5683;
/// Default CoAP over DTLS port (RFC 7252 section 6.2).
pub const COAPS_PORT: u16 = 5684;

/// URI scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `coap`: plain UDP.
    Coap,
    /// `coaps`: CoAP over DTLS.
    Coaps,
}

/// A parsed server URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUri {
    /// Scheme.
    pub scheme: Scheme,
    /// Host name or IP literal (without the brackets of an IPv6 literal).
    pub host: String,
    /// Port (the scheme's default when the URI has none).
    pub port: u16,
}

/// Why a URI is unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UriError {
    /// No `scheme://`.
    MissingScheme(String),
    /// A scheme other than `coap` / `coaps`.
    UnsupportedScheme(String),
    /// `coaps://`: the host runtime has no DTLS yet.
    DtlsNotSupported,
    /// Nothing between `://` and the port or path.
    EmptyHost,
    /// `[...]` that is not an IPv6 address, or is not closed.
    BadIpv6Literal(String),
    /// An IPv6 address without brackets.
    UnbracketedIpv6(String),
    /// Port not a number in 1..=65535.
    BadPort(String),
    /// User info, path, query or fragment, which server URIs do not have.
    Unexpected(String),
    /// Name resolution failed.
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's message.
        reason: String,
    },
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::MissingScheme(s) => {
                write!(f, "{s:?} has no scheme (expected coap://host:port)")
            }
            UriError::UnsupportedScheme(s) => {
                write!(f, "unsupported URI scheme {s:?} (expected coap or coaps)")
            }
            UriError::DtlsNotSupported => f.write_str("DTLS not supported yet (use coap://)"),
            UriError::EmptyHost => f.write_str("URI has no host"),
            UriError::BadIpv6Literal(s) => write!(f, "bad IPv6 literal {s:?}"),
            UriError::UnbracketedIpv6(s) => {
                write!(
                    f,
                    "IPv6 address {s:?} must be in brackets: coap://[{s}]:5683"
                )
            }
            UriError::BadPort(s) => write!(f, "bad port {s:?} (expected 1..65535)"),
            UriError::Unexpected(s) => write!(f, "unexpected {s:?} in server URI"),
            UriError::Resolve { host, reason } => write!(f, "cannot resolve {host:?}: {reason}"),
        }
    }
}

impl std::error::Error for UriError {}

impl ServerUri {
    /// Parses `coap://host[:port][/]` or `coaps://...`; IPv6 literals go in brackets.
    pub fn parse(s: &str) -> Result<Self, UriError> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| UriError::MissingScheme(s.into()))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "coap" => Scheme::Coap,
            "coaps" => Scheme::Coaps,
            _ => return Err(UriError::UnsupportedScheme(scheme.into())),
        };
        let (authority, tail) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if !tail.is_empty() && tail != "/" {
            return Err(UriError::Unexpected(tail.into()));
        }
        if authority.contains('@') {
            return Err(UriError::Unexpected(authority.into()));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (lit, after) = v6
                .split_once(']')
                .ok_or_else(|| UriError::BadIpv6Literal(authority.into()))?;
            lit.parse::<Ipv6Addr>()
                .map_err(|_| UriError::BadIpv6Literal(lit.into()))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| UriError::Unexpected(p.into()))?,
                ),
            };
            (lit, port)
        } else {
            match authority.matches(':').count() {
                0 => (authority, None),
                1 => {
                    let (h, p) = authority.split_once(':').unwrap_or((authority, ""));
                    (h, Some(p))
                }
                _ => return Err(UriError::UnbracketedIpv6(authority.into())),
            }
        };
        if host.is_empty() {
            return Err(UriError::EmptyHost);
        }
        let port = match port {
            None => match scheme {
                Scheme::Coap => COAP_PORT,
                Scheme::Coaps => COAPS_PORT,
            },
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n != 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(UriError::BadPort(p.into())),
            },
        };
        Ok(ServerUri {
            scheme,
            host: host.into(),
            port,
        })
    }

    /// The socket addresses of the host, IPv4-mapped IPv6 addresses turned into IPv4, in the
    /// resolver's order without duplicates.
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, UriError> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![canonical(SocketAddr::new(ip, self.port))]);
        }
        let err = |reason: String| UriError::Resolve {
            host: self.host.clone(),
            reason,
        };
        let mut out = Vec::new();
        for a in (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| err(e.to_string()))?
        {
            let a = canonical(a);
            if !out.contains(&a) {
                out.push(a);
            }
        }
        if out.is_empty() {
            return Err(err("no address".into()));
        }
        Ok(out)
    }
}

impl fmt::Display for ServerUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Coap => "coap",
            Scheme::Coaps => "coaps",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// A CoAP resource URI, `coap://host[:port]/path?query` (a Firmware Update Package URI): the
/// server part, and the Uri-Path and Uri-Query options of a request for it (RFC 7252 6.4,
/// `%XX` decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceUri {
    /// Scheme, host and port.
    pub server: ServerUri,
    /// Uri-Path segments.
    pub path: Vec<String>,
    /// Uri-Query items.
    pub query: Vec<String>,
}

impl ResourceUri {
    /// Parses `coap://host[:port][/path][?query]` (or `coaps://`); a fragment is dropped.
    pub fn parse(s: &str) -> Result<Self, UriError> {
        let s = s.split('#').next().unwrap_or(s);
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| UriError::MissingScheme(s.into()))?;
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let server = ServerUri::parse(&format!("{scheme}://{authority}"))?;
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let path = path.strip_prefix('/').unwrap_or(path);
        let decode_all = |parts: Vec<&str>| -> Result<Vec<String>, UriError> {
            parts
                .into_iter()
                .map(|p| percent_decode(p).ok_or_else(|| UriError::Unexpected(p.into())))
                .collect()
        };
        let path = match path {
            "" => Vec::new(),
            p => decode_all(p.split('/').collect())?,
        };
        let query = match query {
            "" => Vec::new(),
            q => decode_all(q.split('&').collect())?,
        };
        Ok(ResourceUri {
            server,
            path,
            query,
        })
    }
}

/// `%XX` escapes decoded; `None` for a bad escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub use lwm2m_endpoint::transport::canonical;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uri() {
        let r = ResourceUri::parse("coap://[::1]:5700/fw/3?a=1&b%20c#frag").unwrap();
        assert_eq!(r.server.host, "::1");
        assert_eq!(r.server.port, 5700);
        assert_eq!(r.path, ["fw", "3"]);
        assert_eq!(r.query, ["a=1", "b c"]);
        let r = ResourceUri::parse("coap://h").unwrap();
        assert!(r.path.is_empty() && r.query.is_empty() && r.server.port == COAP_PORT);
        assert!(ResourceUri::parse("coap://h/%zz").is_err());
        assert!(ResourceUri::parse("http://h/x").is_err());
        assert!(ResourceUri::parse("coap:///x").is_err());
    }

    fn p(s: &str) -> Result<ServerUri, UriError> {
        ServerUri::parse(s)
    }

    #[test]
    fn ipv6_literal_with_port() {
        let u = p("coap://[2001:db8::1]:5700").unwrap();
        assert_eq!(u.scheme, Scheme::Coap);
        assert_eq!(u.host, "2001:db8::1");
        assert_eq!(u.port, 5700);
        assert_eq!(
            u.resolve().unwrap(),
            ["[2001:db8::1]:5700".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(u.to_string(), "coap://[2001:db8::1]:5700");
    }

    #[test]
    fn ipv6_literal_default_port_and_slash() {
        let u = p("coap://[::1]/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 5683));
        assert_eq!(p("coaps://[::1]").unwrap().port, 5684);
    }

    #[test]
    fn ipv4_with_and_without_port() {
        let u = p("coap://192.0.2.7:61616").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("192.0.2.7", 61616));
        assert_eq!(
            u.resolve().unwrap(),
            ["192.0.2.7:61616".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(p("COAP://10.0.0.1").unwrap().port, 5683);
    }

    #[test]
    fn mapped_ipv6_literal_resolves_to_ipv4() {
        let u = p("coap://[::ffff:127.0.0.1]:9").unwrap();
        assert_eq!(
            u.resolve().unwrap(),
            ["127.0.0.1:9".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn localhost_resolves_to_loopback() {
        let u = p("coap://localhost:5683").unwrap();
        let addrs = u.resolve().unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 5683));
    }

    #[test]
    fn bad_uris_have_clear_errors() {
        assert_eq!(
            p("127.0.0.1:5683"),
            Err(UriError::MissingScheme("127.0.0.1:5683".into()))
        );
        assert_eq!(
            p("http://x"),
            Err(UriError::UnsupportedScheme("http".into()))
        );
        assert_eq!(p("coap://"), Err(UriError::EmptyHost));
        assert_eq!(p("coap://:5683"), Err(UriError::EmptyHost));
        assert_eq!(
            p("coap://[::1:5683"),
            Err(UriError::BadIpv6Literal("[::1:5683".into()))
        );
        assert_eq!(
            p("coap://[zz::1]:1"),
            Err(UriError::BadIpv6Literal("zz::1".into()))
        );
        assert_eq!(
            p("coap://::1:5683"),
            Err(UriError::UnbracketedIpv6("::1:5683".into()))
        );
        assert_eq!(p("coap://h:0"), Err(UriError::BadPort("0".into())));
        assert_eq!(p("coap://h:70000"), Err(UriError::BadPort("70000".into())));
        assert_eq!(p("coap://h:+5"), Err(UriError::BadPort("+5".into())));
        assert_eq!(p("coap://h:"), Err(UriError::BadPort("".into())));
        assert_eq!(p("coap://h/rd"), Err(UriError::Unexpected("/rd".into())));
        assert_eq!(p("coap://[::1]x"), Err(UriError::Unexpected("x".into())));
        assert_eq!(p("coap://u@h"), Err(UriError::Unexpected("u@h".into())));
        let msg = p("coap://::1").unwrap_err().to_string();
        assert!(msg.contains("brackets"), "{msg}");
    }

    #[test]
    fn unresolvable_host_is_an_error() {
        // `.invalid` never resolves (RFC 6761 section 6.4).
        let e = p("coap://no-such-host.invalid")
            .unwrap()
            .resolve()
            .unwrap_err();
        assert!(matches!(e, UriError::Resolve { .. }), "{e:?}");
    }
}
