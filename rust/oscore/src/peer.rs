//! OSCORE (RFC 8613) between the CoAP message layer and the socket, for one security context.
//!
//! [`OscorePeer::protect`] turns each plain datagram the message layer sends into what goes on
//! the wire, [`OscorePeer::unprotect`] does the reverse; the message layer above only ever sees
//! plain CoAP. Both roles share one peer: requests are protected with the sender key and
//! remembered by token (so their responses and notifications can be verified), received
//! requests are remembered by token (so the responses and notifications to them are protected
//! with their request's nonce material).
//!
//! Replay-window recovery (RFC 8613 appendix B.1.2) is handled here too: a request that
//! arrives while the window is unknown (after [`SecurityContext::resume`]) is answered with the
//! protected 4.01 + Echo and not delivered; a 4.01 + Echo answering one of our requests is not
//! delivered either: the request is protected again with the Echo value, under a fresh message
//! ID (the peer's duplicate detection would otherwise replay its 4.01), and the ACK of the
//! retry is handed up under the original message ID.
//!
//! Empty messages (ACK, RST, ping) are not protected (RFC 8613 section 4.1.3 leaves them
//! outside OSCORE) and pass both ways unchanged.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::prelude::rust_2021::*;
use std::{format, vec};

use crate::{
    echo_challenge, echo_response, protect_request_with_echo, protect_response, request_kid,
    unprotect_request, unprotect_response, Error as OscoreError, RequestId, SecurityContext,
    SeqnoStore, StoreError,
};
use lwm2m::coap::{code, option, Message, MessageType};
use zeroize::Zeroizing;

/// Most requests remembered per direction (oldest forgotten first).
const MAX_EXCHANGES: usize = 64;
/// Room for the protected form of a datagram: the plain one plus option, tag and nonce bytes.
const EXPANSION: usize = 64;

/// The parameters of one OSCORE object (21) instance: what `--oscore` carries.
#[derive(Clone)]
pub struct OscoreParams {
    /// Master Secret (res 0).
    pub master_secret: Zeroizing<Vec<u8>>,
    /// Master Salt (res 5).
    pub master_salt: Vec<u8>,
    /// Sender ID (res 1).
    pub sender_id: Vec<u8>,
    /// Recipient ID (res 2).
    pub recipient_id: Vec<u8>,
}

impl fmt::Debug for OscoreParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OscoreParams")
            .field("master_secret", &"<redacted>")
            .field("sender_id", &hex(&self.sender_id))
            .field("recipient_id", &hex(&self.recipient_id))
            .finish_non_exhaustive()
    }
}

impl PartialEq for OscoreParams {
    fn eq(&self, o: &Self) -> bool {
        *self.master_secret == *o.master_secret
            && self.master_salt == o.master_salt
            && self.sender_id == o.sender_id
            && self.recipient_id == o.recipient_id
    }
}

impl Eq for OscoreParams {}

impl OscoreParams {
    /// Parses `master_secret_hex,salt_hex,sender_id_hex,recipient_id_hex` (salt and IDs may
    /// be empty). Errors name the field, never its content.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(',').collect();
        let [secret, salt, sid, rid] = parts.as_slice() else {
            return Err("OSCORE parameters are master_secret,salt,sender_id,recipient_id".into());
        };
        let p = OscoreParams {
            master_secret: Zeroizing::new(unhex(secret).ok_or("OSCORE master secret: bad hex")?),
            master_salt: unhex(salt).ok_or("OSCORE salt: bad hex")?,
            sender_id: unhex(sid).ok_or("OSCORE sender ID: bad hex")?,
            recipient_id: unhex(rid).ok_or("OSCORE recipient ID: bad hex")?,
        };
        if p.master_secret.is_empty() {
            return Err("OSCORE master secret is empty".into());
        }
        p.context()
            .map_err(|e| format!("OSCORE parameters: {e:?}"))?;
        Ok(p)
    }

    /// Derives the security context (AES-CCM-16-64-128, HKDF-SHA256, no ID Context).
    pub fn context(&self) -> Result<SecurityContext, OscoreError> {
        SecurityContext::derive(
            &self.master_secret,
            &self.master_salt,
            &self.sender_id,
            &self.recipient_id,
            None,
        )
    }
}

/// Lower-case hex of `b` (IDs only; never used for keys).
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses hex digits (an empty string is an empty byte string).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let d = s.trim().as_bytes();
    if !d.len().is_multiple_of(2) {
        return None;
    }
    d.chunks_exact(2)
        .map(|p| {
            let s = std::str::from_utf8(p).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

/// A [`SeqnoStore`] in a file: the limit as decimal text, written to a temporary file, synced
/// and renamed over the old one, so a crash leaves either the old or the new limit.
#[derive(Debug, Clone)]
pub struct FileSeqnoStore {
    path: PathBuf,
}

impl FileSeqnoStore {
    /// A store at `path`, and the limit it holds (`None`: no file yet, fresh material).
    pub fn open(path: &Path) -> io::Result<(Self, Option<u64>)> {
        let limit = match std::fs::read_to_string(path) {
            Ok(s) => Some(s.trim().parse::<u64>().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "sequence number file is corrupt",
                )
            })?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok((
            FileSeqnoStore {
                path: path.to_owned(),
            },
            limit,
        ))
    }
}

impl SeqnoStore for FileSeqnoStore {
    fn store(&mut self, limit: u64) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("tmp");
        let write = || -> io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            writeln!(f, "{limit}")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|_| StoreError)
    }
}

/// A [`SeqnoStore`] that forgets on restart (tests; peers whose material is fresh each run).
#[derive(Debug, Default, Clone, Copy)]
pub struct VolatileStore;

impl SeqnoStore for VolatileStore {
    fn store(&mut self, _limit: u64) -> Result<(), StoreError> {
        Ok(())
    }
}

/// What became of a received datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A verified message: its plain form and the key ID that authenticated it (for a
    /// response, our peer's Recipient ID, i.e. who answered).
    Verified {
        /// The plain CoAP datagram.
        plain: Vec<u8>,
        /// The authenticated key ID.
        kid: Vec<u8>,
    },
    /// Not for this context: no OSCORE option and no protected exchange it belongs to (plain
    /// CoAP, for the caller to treat as NoSec), or an empty message.
    Plain(Vec<u8>),
    /// Nothing to deliver; send this back to the peer (an Echo challenge, or our request
    /// repeated with the Echo value).
    Answer(Vec<u8>),
    /// Dropped: failed verification, replay, unprotected answer to a protected request.
    Dropped(&'static str),
}

struct SentRequest {
    id: RequestId,
    plain: Vec<u8>,
    protected: Vec<u8>,
    echoed: bool,
}

/// One OSCORE security context with the exchanges in flight under it.
pub struct OscorePeer {
    ctx: SecurityContext,
    store: Box<dyn SeqnoStore + Send>,
    sent: HashMap<Vec<u8>, SentRequest>,
    sent_order: VecDeque<Vec<u8>>,
    received: HashMap<Vec<u8>, RequestId>,
    received_order: VecDeque<Vec<u8>>,
    /// Message ID of an Echo retry -> the original request's.
    mid_map: HashMap<u16, u16>,
    stats: OscoreStats,
}

/// Counters of one [`OscorePeer`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OscoreStats {
    /// Datagrams dropped (verification failure, replay, downgrade).
    pub dropped: u64,
    /// Echo challenges sent.
    pub echo_challenges: u64,
    /// Requests repeated with an Echo value.
    pub echo_retries: u64,
}

impl fmt::Debug for OscorePeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OscorePeer")
            .field("ctx", &self.ctx)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn remember<V>(map: &mut HashMap<Vec<u8>, V>, order: &mut VecDeque<Vec<u8>>, key: Vec<u8>, v: V) {
    if map.insert(key.clone(), v).is_none() {
        order.push_back(key);
    }
    while order.len() > MAX_EXCHANGES {
        if let Some(old) = order.pop_front() {
            map.remove(&old);
        }
    }
}

impl OscorePeer {
    /// A peer over `ctx` (fresh or resumed) persisting sequence numbers in `store`.
    pub fn new(ctx: SecurityContext, store: Box<dyn SeqnoStore + Send>) -> Self {
        OscorePeer {
            ctx,
            store,
            sent: HashMap::new(),
            sent_order: VecDeque::new(),
            received: HashMap::new(),
            received_order: VecDeque::new(),
            mid_map: HashMap::new(),
            stats: OscoreStats::default(),
        }
    }

    /// The key ID requests from the peer carry (our Recipient ID).
    pub fn recipient_id(&self) -> &[u8] {
        self.ctx.recipient_id()
    }

    /// Counters.
    pub fn stats(&self) -> OscoreStats {
        self.stats
    }

    /// Does this protected request carry our Recipient ID as kid?
    pub fn is_for_us(&self, datagram: &[u8]) -> bool {
        request_kid(datagram) == Some(self.ctx.recipient_id())
    }

    /// Was a request with this token received (and verified) under this context? Responses
    /// and notifications to it are then protected.
    pub fn knows_request(&self, token: &[u8]) -> bool {
        self.received.contains_key(token)
    }

    /// Does this datagram belong to an exchange we protected (a response to our request)?
    pub fn owns_response(&self, datagram: &[u8]) -> bool {
        Message::parse(datagram).is_ok_and(|m| {
            code::is_response(m.code) && self.sent.contains_key(m.token)
                || m.code == code::EMPTY && self.mid_map.contains_key(&m.message_id)
        })
    }

    /// The wire form of a plain datagram: requests are protected; responses to protected
    /// requests are protected with their request's id; everything else passes unchanged.
    pub fn protect(&mut self, plain: &[u8]) -> Result<Vec<u8>, OscoreError> {
        let m = Message::parse(plain).map_err(|_| OscoreError::Malformed)?;
        let mut out = vec![0u8; plain.len() + EXPANSION];
        if code::is_request(m.code) {
            if let Some(s) = self.sent.get(m.token) {
                if s.plain == plain {
                    // A retransmission: the very same bytes, so the peer's duplicate
                    // detection (and its cached response) still apply.
                    return Ok(s.protected.clone());
                }
            }
            let (n, id) =
                protect_request_with_echo(&mut self.ctx, &mut *self.store, plain, None, &mut out)?;
            out.truncate(n);
            let s = SentRequest {
                id,
                plain: plain.to_vec(),
                protected: out.clone(),
                echoed: false,
            };
            remember(&mut self.sent, &mut self.sent_order, m.token.to_vec(), s);
            return Ok(out);
        }
        if code::is_response(m.code) {
            if let Some(id) = self.received.get_mut(m.token) {
                let n = protect_response(&mut self.ctx, &mut *self.store, id, plain, &mut out)?;
                out.truncate(n);
                return Ok(out);
            }
        }
        Ok(plain.to_vec())
    }

    /// Verifies and decrypts a received datagram (see [`Inbound`]).
    pub fn unprotect(&mut self, data: &[u8]) -> Inbound {
        let r = self.unprotect_inner(data);
        if matches!(r, Inbound::Dropped(_)) {
            self.stats.dropped += 1;
        }
        r
    }

    fn unprotect_inner(&mut self, data: &[u8]) -> Inbound {
        let Ok(m) = Message::parse(data) else {
            return Inbound::Dropped("malformed");
        };
        let protected = m.option(option::OSCORE).is_some();
        let token = m.token.to_vec();
        if m.code == code::EMPTY {
            let mut plain = data.to_vec();
            if m.mtype == MessageType::Ack {
                if let Some(orig) = self.mid_map.remove(&m.message_id) {
                    set_mid(&mut plain, orig);
                }
            }
            return Inbound::Plain(plain);
        }
        let mut buf = data.to_vec();
        let mut out = vec![0u8; data.len() + EXPANSION];
        if code::is_request(m.code) {
            if !protected {
                return Inbound::Plain(data.to_vec());
            }
            return match unprotect_request(&mut self.ctx, &mut buf, &mut out) {
                Ok((n, id)) => {
                    out.truncate(n);
                    let kid = id.kid().to_vec();
                    remember(&mut self.received, &mut self.received_order, token, id);
                    Inbound::Verified { plain: out, kid }
                }
                Err(OscoreError::EchoRequired(mut id)) => {
                    match echo_response(&mut self.ctx, &mut *self.store, &mut id, data, &mut out) {
                        Ok(n) => {
                            out.truncate(n);
                            self.stats.echo_challenges += 1;
                            Inbound::Answer(out)
                        }
                        Err(_) => Inbound::Dropped("cannot build the Echo challenge"),
                    }
                }
                Err(OscoreError::Replay) => Inbound::Dropped("replayed request"),
                Err(OscoreError::UnknownKid) => Inbound::Dropped("unknown kid"),
                Err(_) => Inbound::Dropped("request failed verification"),
            };
        }
        let Some(s) = self.sent.get_mut(&token) else {
            return if protected {
                Inbound::Dropped("protected response to no request of ours")
            } else {
                Inbound::Plain(data.to_vec())
            };
        };
        if !protected {
            return Inbound::Dropped("unprotected response to a protected request");
        }
        let n = match unprotect_response(&mut self.ctx, &s.id, &mut buf, &mut out) {
            Ok(n) => n,
            Err(_) => return Inbound::Dropped("response failed verification"),
        };
        out.truncate(n);
        if let Some(echo) = echo_challenge(&out).map(<[u8]>::to_vec) {
            if s.echoed {
                return Inbound::Dropped("second Echo challenge for one request");
            }
            let mut wire = vec![0u8; s.plain.len() + EXPANSION + echo.len()];
            let Ok((n, id)) = protect_request_with_echo(
                &mut self.ctx,
                &mut *self.store,
                &s.plain,
                Some(&echo),
                &mut wire,
            ) else {
                return Inbound::Dropped("cannot repeat the request with Echo");
            };
            wire.truncate(n);
            if m.mtype == MessageType::Ack {
                let orig = m.message_id;
                // Any ID but the original: the peer answered that one already.
                let retry = orig ^ 0x8000;
                set_mid(&mut wire, retry);
                self.mid_map.insert(retry, orig);
                if self.mid_map.len() > MAX_EXCHANGES {
                    self.mid_map.clear();
                }
            }
            s.id = id;
            s.protected = wire.clone();
            s.echoed = true;
            self.stats.echo_retries += 1;
            return Inbound::Answer(wire);
        }
        if m.mtype == MessageType::Ack {
            if let Some(orig) = self.mid_map.remove(&m.message_id) {
                set_mid(&mut out, orig);
            }
        }
        Inbound::Verified {
            plain: out,
            kid: self.ctx.recipient_id().to_vec(),
        }
    }
}

fn set_mid(datagram: &mut [u8], mid: u16) {
    if let Some(b) = datagram.get_mut(2..4) {
        b.copy_from_slice(&mid.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lwm2m::coap::MessageBuilder;

    fn pair() -> (OscorePeer, OscorePeer) {
        let c = OscoreParams::parse("0102030405060708090a0b0c0d0e0f10,9e7ca92223786340,01,")
            .expect("client params");
        let s = OscoreParams::parse("0102030405060708090a0b0c0d0e0f10,9e7ca92223786340,,01")
            .expect("server params");
        (
            OscorePeer::new(c.context().unwrap(), Box::new(VolatileStore)),
            OscorePeer::new(s.context().unwrap(), Box::new(VolatileStore)),
        )
    }

    fn get(mid: u16, token: &[u8]) -> Vec<u8> {
        let mut b = [0u8; 64];
        let mut m = MessageBuilder::new(&mut b, MessageType::Con, code::GET, mid, token).unwrap();
        m.option(option::URI_PATH, b"3").unwrap();
        let n = m.finish();
        b[..n].to_vec()
    }

    fn content(mid: u16, token: &[u8]) -> Vec<u8> {
        let mut b = [0u8; 64];
        let mut m =
            MessageBuilder::new(&mut b, MessageType::Ack, code::CONTENT, mid, token).unwrap();
        m.payload(b"hello").unwrap();
        let n = m.finish();
        b[..n].to_vec()
    }

    #[test]
    fn round_trip_replay_tamper_and_downgrade() {
        let (mut c, mut s) = pair();
        let req = get(7, &[1, 2]);
        let wire = c.protect(&req).unwrap();
        assert_ne!(wire, req);
        assert_eq!(
            c.protect(&req).unwrap(),
            wire,
            "retransmission is identical"
        );
        assert!(s.is_for_us(&wire));
        assert_eq!(
            s.unprotect(&wire),
            Inbound::Verified {
                plain: req.clone(),
                kid: vec![1]
            }
        );
        assert_eq!(s.unprotect(&wire), Inbound::Dropped("replayed request"));
        let mut bad = c.protect(&get(8, &[3])).unwrap();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(s.unprotect(&bad), Inbound::Dropped(_)));
        let resp = content(7, &[1, 2]);
        let rwire = s.protect(&resp).unwrap();
        assert_ne!(rwire, resp);
        assert!(c.owns_response(&rwire));
        assert_eq!(
            c.unprotect(&rwire),
            Inbound::Verified {
                plain: resp.clone(),
                kid: vec![]
            }
        );
        // A plain answer to a protected request is a downgrade.
        assert!(matches!(c.unprotect(&resp), Inbound::Dropped(_)));
        assert_eq!(s.stats().dropped, 2);
    }

    fn observed(mid: u16, token: &[u8], mtype: MessageType, c: u8, obs: u32) -> Vec<u8> {
        let mut b = [0u8; 64];
        let mut m = MessageBuilder::new(&mut b, mtype, c, mid, token).unwrap();
        let v = obs.to_be_bytes();
        let skip = v.iter().take_while(|&&x| x == 0).count();
        m.option(option::OBSERVE, &v[skip..]).unwrap();
        if c == code::GET {
            m.option(option::URI_PATH, b"3").unwrap();
        } else {
            m.payload(b"21.5").unwrap();
        }
        let n = m.finish();
        b[..n].to_vec()
    }

    fn observe_of(plain: &[u8]) -> Option<u32> {
        Message::parse(plain)
            .unwrap()
            .option_uint(option::OBSERVE)
            .and_then(Result::ok)
    }

    #[test]
    fn notifications_carry_the_outer_observe_number() {
        let (mut c, mut s) = pair();
        let token = [9, 9];
        let reg = observed(20, &token, MessageType::Con, code::GET, 0);
        let Inbound::Verified { plain, .. } = s.unprotect(&c.protect(&reg).unwrap()) else {
            core::panic!("registration refused")
        };
        assert_eq!(
            observe_of(&plain),
            Some(0),
            "a registration keeps Observe 0"
        );
        let sent = [
            (MessageType::Ack, 20, 7),
            (MessageType::Con, 100, 8),
            (MessageType::Non, 101, 9),
            (MessageType::Con, 102, 300),
        ];
        let mut seen = Vec::new();
        for (mtype, mid, obs) in sent {
            let plain = observed(mid, &token, mtype, code::CONTENT, obs);
            let wire = s.protect(&plain).unwrap();
            // The wire carries the number outside; inside it is empty.
            assert_eq!(observe_of(&wire), Some(obs));
            let Inbound::Verified { plain: got, .. } = c.unprotect(&wire) else {
                core::panic!("notification {obs} refused")
            };
            assert_eq!(got, plain, "notification {obs} arrives as sent");
            seen.extend(observe_of(&got));
        }
        assert_eq!(seen, [7, 8, 9, 300]);
        // A response without Observe stays without one, even if an outer one is added.
        let (mut c, mut s) = pair();
        let req = get(30, &[5]);
        s.unprotect(&c.protect(&req).unwrap());
        let wire = s.protect(&content(30, &[5])).unwrap();
        let mut b = [0u8; 128];
        let m = Message::parse(&wire).unwrap();
        let mut f = MessageBuilder::new(&mut b, m.mtype, m.code, m.message_id, m.token).unwrap();
        f.option(option::OBSERVE, &[4]).unwrap();
        for o in m.options() {
            f.option(o.number, o.value).unwrap();
        }
        f.payload(m.payload).unwrap();
        let n = f.finish();
        let Inbound::Verified { plain, .. } = c.unprotect(&b[..n]) else {
            core::panic!("response refused")
        };
        assert_eq!(observe_of(&plain), None);
    }

    #[test]
    fn echo_recovery_after_server_restart() {
        let (mut c, _) = pair();
        let params = OscoreParams::parse("0102030405060708090a0b0c0d0e0f10,9e7ca92223786340,,01")
            .expect("server params");
        let mut ctx = params.context().unwrap();
        ctx.resume(1000);
        let mut s = OscorePeer::new(ctx, Box::new(VolatileStore));
        let req = get(9, &[4]);
        let wire = c.protect(&req).unwrap();
        let Inbound::Answer(challenge) = s.unprotect(&wire) else {
            core::panic!("no challenge")
        };
        let Inbound::Answer(retry) = c.unprotect(&challenge) else {
            core::panic!("no retry")
        };
        assert_eq!(u16::from_be_bytes([retry[2], retry[3]]), 9 ^ 0x8000);
        assert_eq!(
            c.protect(&req).unwrap(),
            retry,
            "retransmits send the retry"
        );
        let Inbound::Verified { plain, .. } = s.unprotect(&retry) else {
            core::panic!("retry refused")
        };
        assert_eq!(Message::parse(&plain).unwrap().code, code::GET);
        let resp_wire = s.protect(&content(9 ^ 0x8000, &[4])).unwrap();
        let Inbound::Verified { plain, .. } = c.unprotect(&resp_wire) else {
            core::panic!("response refused")
        };
        assert_eq!(Message::parse(&plain).unwrap().message_id, 9);
    }

    #[test]
    fn params_parse_and_debug_redacts() {
        let p = OscoreParams::parse("aabbccddeeff,00,0a,0b").unwrap();
        let d = format!("{p:?}");
        assert!(!d.contains("aabbcc"), "{d}");
        assert!(OscoreParams::parse("zz,,01,02")
            .unwrap_err()
            .contains("master secret"));
        assert!(!OscoreParams::parse("zzq1,,01,02")
            .unwrap_err()
            .contains("zz"));
        assert!(OscoreParams::parse(",,01,02").is_err());
        assert!(OscoreParams::parse("aa,bb").is_err());
    }

    #[test]
    fn file_store_persists() {
        let dir = std::env::temp_dir().join(format!("seqno-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("seq");
        let _ = std::fs::remove_file(&path);
        let (mut s, l) = FileSeqnoStore::open(&path).unwrap();
        assert_eq!(l, None);
        s.store(128).unwrap();
        assert_eq!(FileSeqnoStore::open(&path).unwrap().1, Some(128));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
