//! Firmware Update (object 5) from the server, push delivery: the image, wrapped in the
//! engine's package manifest ([`lwm2m::firmware::manifest`]: length, SHA-256, Package Name
//! and Version), is written to /5/0/0 with Block1 ([`ServerHandle::fota_push`]), one block in
//! flight, with a [`crate::Event::Block1Progress`] per tenth; the Update is a separate step
//! ([`ServerHandle::fota_update`], Execute /5/0/2), and [`ServerHandle::fota_status`] reads
//! State, Update Result, PkgName and PkgVersion. Observing /5/0/3 and /5/0/5 reports each
//! change as a notification event.
//!
//! Pull ([`ServerHandle::fota_pull`]): the same package is served on the server's own CoAP
//! endpoint at `/fw/<id>` (GET with Block2, RFC 7959: any block size the client asks for, 2.05
//! with Block2 and, on block 0, Size2; 4.04 for an unknown ID, 4.05 for another method, 4.02
//! for a block past the end) and its URI, `coap://<the address the client registered to>/fw/<id>`
//! (`coaps://` and the DTLS listener for a client registered over DTLS), is written to /5/0/1; the client fetches it and a [`crate::Event::Block2Progress`] reports
//! each tenth fetched. At most [`MAX_SERVED_PACKAGES`] packages are served at once; a further
//! one replaces the oldest (whose URI then answers 4.04). A package is served to any peer that
//! asks (the firmware image is not a secret; its integrity is the manifest's SHA-256).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;

use lwm2m::coap::{code, content_format as cf, Block};
use lwm2m::firmware::{manifest, res, ID};
use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::dm::ops::Response;
use crate::dm::values::{OwnedRecord, OwnedValue, ValueJson};
use crate::error::ServerError;
use crate::event::Event;
use crate::server::ServerHandle;
use crate::shared::{CallKind, Caller};
use crate::transport::msg::{IncomingRequest, OutRequest, Reply};
use crate::transport::PeerSecurity;

/// Packages served for pulls at once (`/fw/<id>`); a further one replaces the oldest.
pub const MAX_SERVED_PACKAGES: usize = 4;

/// The Block2 size of a served package when the client asks for none.
pub const SERVED_BLOCK_SIZE: usize = 1024;

/// One package served for pulls.
#[derive(Debug)]
struct Served {
    id: u32,
    /// The client it was written to (for the progress events).
    endpoint: String,
    data: Arc<Vec<u8>>,
    /// Tenths reported so far (back to 0 when block 0 is fetched again).
    tenth: usize,
}

/// The packages served on `/fw/<id>`, at most [`MAX_SERVED_PACKAGES`].
#[derive(Debug, Default)]
pub(crate) struct PackageStore {
    last_id: u32,
    served: VecDeque<Served>,
}

impl PackageStore {
    /// Serves `package` for `endpoint`; its ID (1, 2, ...). The oldest goes when full.
    pub(crate) fn add(&mut self, endpoint: &str, package: Vec<u8>) -> u32 {
        self.last_id = self.last_id.wrapping_add(1).max(1);
        while self.served.len() >= MAX_SERVED_PACKAGES {
            self.served.pop_front();
        }
        self.served.push_back(Served {
            id: self.last_id,
            endpoint: endpoint.to_owned(),
            data: Arc::new(package),
            tenth: 0,
        });
        self.last_id
    }

    /// IDs served now, oldest first.
    pub(crate) fn ids(&self) -> Vec<u32> {
        self.served.iter().map(|s| s.id).collect()
    }

    /// The answer to a request under `/fw`, and the progress event it makes.
    pub(crate) fn serve(&mut self, req: &IncomingRequest) -> (Reply, Option<Event>) {
        let id = match req.path.as_slice() {
            [_, id] => id.parse::<u32>().ok(),
            _ => None,
        };
        let Some(s) = id.and_then(|id| self.served.iter_mut().find(|s| s.id == id)) else {
            return (Reply::code(code::NOT_FOUND), None);
        };
        if req.code != code::GET {
            return (Reply::code(code::METHOD_NOT_ALLOWED), None);
        }
        let asked = req.block2.unwrap_or(Block {
            num: 0,
            more: false,
            szx: Block::szx_for(SERVED_BLOCK_SIZE),
        });
        // szx 7 (BERT) is for CoAP over TCP: answer 1024-byte blocks.
        let szx = asked.szx.min(6);
        let size = 16usize << szx;
        let len = s.data.len();
        let start = (asked.num as usize).saturating_mul(size);
        if start > len || (start == len && len > 0) {
            return (Reply::code(code::BAD_OPTION), None);
        }
        let end = (start + size).min(len);
        let block = Block {
            num: asked.num,
            more: end < len,
            szx,
        };
        let reply = Reply {
            code: code::CONTENT,
            content_format: Some(cf::OPAQUE),
            payload: s.data[start..end].to_vec(),
            block2: Some(block),
            size2: (asked.num == 0).then_some(len as u32),
            ..Default::default()
        };
        if start == 0 {
            s.tenth = 0;
        }
        let tenth = (end * 10).checked_div(len).unwrap_or(10);
        let event = (tenth > s.tenth).then(|| {
            s.tenth = tenth;
            Event::Block2Progress {
                endpoint: s.endpoint.clone(),
                package: s.id,
                peer: req.peer,
                security: req.security.label(),
                sent: end,
                total: len,
            }
        });
        (reply, event)
    }
}

/// The address of this host toward `peer` (when the server listens on a wildcard address).
fn local_ip_toward(peer: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if peer.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    // A connected UDP socket sends nothing; it only picks the route.
    let s = UdpSocket::bind(any).ok()?;
    s.connect(peer).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// The block size of a push unless the caller picks one (fits any client's 1152-byte
/// datagram with room for options, OSCORE and DTLS).
pub const DEFAULT_BLOCK_SIZE: usize = 512;

/// `image` behind its manifest, as the client's engine takes it.
pub fn package(image: &[u8], name: &str, version: &str) -> Result<Vec<u8>, ServerError> {
    let mut header = [0u8; manifest::MAX_LEN];
    let n = manifest::encode(image, name, version, &mut header).ok_or_else(|| {
        ServerError::InvalidArgument(format!(
            "package name or version too long (at most {} / {} bytes) or image over 4 GiB",
            lwm2m::config::FOTA_NAME_LEN,
            lwm2m::config::FOTA_VERSION_LEN
        ))
    })?;
    let mut p = header[..n].to_vec();
    p.extend_from_slice(image);
    Ok(p)
}

/// The Block1 size exponent for `block_size` bytes (16..=1024, a power of two).
pub fn block_szx(block_size: usize) -> Result<u8, ServerError> {
    let szx = Block::szx_for(block_size);
    if 16usize << szx != block_size {
        return Err(ServerError::InvalidArgument(format!(
            "block size {block_size}: one of 16, 32, 64, 128, 256, 512, 1024"
        )));
    }
    Ok(szx)
}

impl ServerHandle {
    /// Writes `package` (see [`package`]) to /5/0/0 of `endpoint` with Block1 blocks of
    /// `block_size` bytes (or smaller if the client asks). Each block is bounded by the request
    /// timeout; the answer is the client's response to the last block (2.04 once the image
    /// verified) or to the block it refused.
    pub fn fota_push(
        &self,
        endpoint: &str,
        package: Vec<u8>,
        block_size: usize,
    ) -> Result<Response, ServerError> {
        let szx = block_szx(block_size)?;
        let blocks = package.len().div_ceil(block_size).max(1) as u32;
        let mut req = OutRequest::new(code::PUT, Vec::new());
        req.content_format = Some(cf::OPAQUE);
        req.payload = package;
        req.block1 = Some(Block {
            num: 0,
            more: false,
            szx,
        });
        let c = self.caller();
        // Every block may take the whole request timeout.
        let c = Caller {
            timeout: c.timeout * (blocks + 1),
            ..c
        };
        let target = Path::resource(ID, 0, res::PACKAGE);
        c.wait(c.start_kind(endpoint, target, req, CallKind::Plain))
    }

    /// Serves `package` (see [`package`]) at `/fw/<id>` and writes its URI to /5/0/1 of
    /// `endpoint`: `coap://<authority>/fw/<id>` (`coaps://` for a client registered over
    /// DTLS), the authority being `host` (`host:port`, for a client that reaches the server
    /// through a proxy or NAT) or else the address the client registered to. Returns the client's response to the Write and the URI; the client then
    /// fetches the package (progress as [`Event::Block2Progress`], the outcome in
    /// [`ServerHandle::fota_status`]).
    pub fn fota_pull(
        &self,
        endpoint: &str,
        package: Vec<u8>,
        host: Option<&str>,
    ) -> Result<(Response, String), ServerError> {
        let reg = self
            .client(endpoint)
            .ok_or_else(|| ServerError::UnknownEndpoint(endpoint.into()))?;
        // A client registered over DTLS fetches over DTLS too (the same PSK session), one
        // registered in clear or over OSCORE from the plain endpoint (OSCORE protects the GETs
        // there as it protects the registration).
        let dtls = matches!(reg.security, PeerSecurity::Dtls { .. });
        let scheme = if dtls { "coaps" } else { "coap" };
        let authority = match host {
            Some(h) if !h.is_empty() && !h.contains(['/', '?', '#', ' ']) => h.to_owned(),
            Some(h) => return Err(ServerError::InvalidArgument(format!("host {h:?}"))),
            None => {
                let ours = match self.coaps_addr() {
                    Some(a) if dtls => a,
                    _ => self.coap_addr(),
                };
                let ip = match ours.ip() {
                    ip if ip.is_unspecified() => local_ip_toward(reg.addr).unwrap_or(ip),
                    ip => ip,
                };
                SocketAddr::new(ip, ours.port()).to_string()
            }
        };
        let id = self.packages().add(endpoint, package);
        let uri = format!("{scheme}://{authority}/fw/{id}");
        let path = Path::resource(ID, 0, res::PACKAGE_URI);
        let rec = OwnedRecord {
            path,
            value: OwnedValue::String(uri.clone()),
        };
        let r = self.write(endpoint, &path, &[rec], Some(cf::TEXT), true)?;
        Ok((r, uri))
    }

    /// IDs of the packages served for pulls now (`/fw/<id>`), oldest first.
    pub fn fota_served(&self) -> Vec<u32> {
        self.packages().ids()
    }

    /// Execute Update (/5/0/2).
    pub fn fota_update(&self, endpoint: &str) -> Result<Response, ServerError> {
        self.execute(endpoint, &Path::resource(ID, 0, res::UPDATE), None)
    }

    /// State, Update Result, PkgName and PkgVersion of `endpoint` (a Read of /5/0).
    pub fn fota_status(&self, endpoint: &str) -> Result<Json, ServerError> {
        let r = self.read(endpoint, &Path::instance(ID, 0), None)?;
        if !r.is_success() {
            return Ok(r.to_json());
        }
        let mut out = json!({});
        for rec in r.values()? {
            let name = match rec.path.resource_id() {
                Some(res::STATE) => "state",
                Some(res::UPDATE_RESULT) => "result",
                Some(res::PKG_NAME) => "name",
                Some(res::PKG_VERSION) => "version",
                _ => continue,
            };
            out[name] = rec.value.to_json();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::PeerSecurity;

    fn get(id: &str, block: Option<Block>) -> IncomingRequest {
        IncomingRequest {
            peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
            code: code::GET,
            path: vec!["fw".into(), id.into()],
            query: Vec::new(),
            content_format: None,
            payload: Vec::new(),
            security: PeerSecurity::NoSec,
            block2: block,
        }
    }

    fn b(num: u32, szx: u8) -> Option<Block> {
        Some(Block {
            num,
            more: false,
            szx,
        })
    }

    #[test]
    fn serves_blocks_of_the_size_asked() {
        let mut s = PackageStore::default();
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let id = s.add("dev", data.clone());
        assert_eq!(id, 1);
        // Block 0 of 256 bytes: Size2, more.
        let (r, ev) = s.serve(&get("1", b(0, 4)));
        assert_eq!(r.code, code::CONTENT);
        assert_eq!(r.payload, data[..256]);
        assert_eq!(r.block2, b(0, 4).map(|b| Block { more: true, ..b }));
        assert_eq!(r.size2, Some(3000));
        assert!(ev.is_none(), "under a tenth");
        // The last 1024-byte block: the rest, no more, no Size2.
        let (r, ev) = s.serve(&get("1", b(2, 6)));
        assert_eq!(r.payload, data[2048..]);
        assert_eq!(r.block2, b(2, 6));
        assert_eq!(r.size2, None);
        match ev {
            Some(Event::Block2Progress {
                endpoint,
                package,
                sent,
                total,
                ..
            }) => assert_eq!(
                (endpoint.as_str(), package, sent, total),
                ("dev", 1, 3000, 3000)
            ),
            e => panic!("{e:?}"),
        }
        // No Block2 asked: 1024-byte blocks; BERT's szx 7 is answered with 1024 too.
        let (r, _) = s.serve(&get("1", None));
        assert_eq!((r.payload.len(), r.block2.unwrap().szx), (1024, 6));
        let (r, _) = s.serve(&get("1", b(1, 7)));
        assert_eq!(r.payload, data[1024..2048]);
        // Past the end: 4.02; unknown IDs and other paths: 4.04; other methods: 4.05.
        assert_eq!(s.serve(&get("1", b(3, 6))).0.code, code::BAD_OPTION);
        assert_eq!(s.serve(&get("1", b(u32::MAX, 6))).0.code, code::BAD_OPTION);
        assert_eq!(s.serve(&get("2", None)).0.code, code::NOT_FOUND);
        assert_eq!(s.serve(&get("x", None)).0.code, code::NOT_FOUND);
        let mut deep = get("1", None);
        deep.path.push("more".into());
        assert_eq!(s.serve(&deep).0.code, code::NOT_FOUND);
        let mut post = get("1", None);
        post.code = code::POST;
        assert_eq!(s.serve(&post).0.code, code::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn one_progress_event_per_tenth_and_bounded_store() {
        let mut s = PackageStore::default();
        s.add("dev", vec![7; 10 * 1024]);
        let events = (0..10)
            .filter(|&n| s.serve(&get("1", b(n, 6))).1.is_some())
            .count();
        assert_eq!(events, 10);
        // Fetched again from block 0: reported again.
        assert!(s.serve(&get("1", b(0, 6))).1.is_some());
        for i in 2..=5 {
            assert_eq!(s.add("dev", vec![i as u8]), i);
        }
        // The oldest went: at most MAX_SERVED_PACKAGES.
        assert_eq!(s.ids(), [2, 3, 4, 5]);
        assert_eq!(s.serve(&get("1", None)).0.code, code::NOT_FOUND);
        let (r, _) = s.serve(&get("5", None));
        assert_eq!((r.payload, r.block2), (vec![5], b(0, 6)));
        // An empty package is one empty block.
        let id = s.add("dev", Vec::new());
        let (r, _) = s.serve(&get(&id.to_string(), None));
        assert_eq!((r.code, r.payload.len()), (code::CONTENT, 0));
    }
}
