//! Read (GET) and Read-Composite (FETCH), and the response rendering they share with
//! notifications: content negotiation and Block2 (RFC 7959) by re-rendering the requested
//! window, with no buffer beyond the response itself.

use super::access::Action;
use super::tree::{Composite, Tree};
use super::{Engine, Request};
use crate::coap::{code, content_format as cf, option, Block, MessageBuilder};
use crate::codec::{self, RecordSource, Writer};
use crate::config::MAX_ATTRIBUTES;
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::path::Path;
use crate::value::Value;

/// The default format of a multi-value Read or Observe: TLV (what LwM2M 1.0 servers expect)
/// when it is built in, else SenML CBOR, else LwM2M CBOR.
#[cfg(feature = "format-tlv")]
const MULTI_VALUE_FORMAT: u16 = cf::LWM2M_TLV;
#[cfg(all(not(feature = "format-tlv"), feature = "format-senml-cbor"))]
const MULTI_VALUE_FORMAT: u16 = cf::SENML_CBOR;
#[cfg(all(
    not(feature = "format-tlv"),
    not(feature = "format-senml-cbor"),
    feature = "format-lwm2m-cbor"
))]
const MULTI_VALUE_FORMAT: u16 = cf::LWM2M_CBOR;
/// Without any multi-value format the encoder answers 4.06.
#[cfg(not(any(
    feature = "format-tlv",
    feature = "format-senml-cbor",
    feature = "format-lwm2m-cbor"
)))]
const MULTI_VALUE_FORMAT: u16 = cf::LWM2M_TLV;

/// Bytes kept free for options when sizing a block.
const OPTION_RESERVE: usize = 16;

impl Engine<'_> {
    /// Checks that `path` exists and may be read by `caller`.
    pub(crate) fn check_read_target(&self, caller: Caller, path: &Path) -> Result<()> {
        self.check_target(caller, Action::Read, path)
    }

    /// Checks that `path` exists and `caller` may perform `action` (Read or Discover) on it.
    pub(crate) fn check_target(&self, caller: Caller, action: Action, path: &Path) -> Result<()> {
        let Some(oid) = path.object_id() else {
            // Not even for the bootstrap server: `/` holds the Security object's keys.
            return match caller {
                Caller::Local => Ok(()),
                _ => Err(Error::MethodNotAllowed),
            };
        };
        if caller == Caller::Bootstrap && !matches!(oid, 1 | 2) {
            // Bootstrap-Read covers the Server and Access Control objects only.
            return Err(Error::MethodNotAllowed);
        }
        let obj = self.object(oid).ok_or(Error::NotFound)?;
        let Some(inst) = path.instance_id() else {
            return self.allowed(caller, action, oid, None);
        };
        self.check_instance(caller, action, oid, inst)?;
        let Some(rid) = path.resource_id() else {
            return Ok(());
        };
        let r = obj.def().resource(rid).ok_or(Error::NotFound)?;
        if !obj.has_resource(inst, rid) {
            return Err(Error::NotFound);
        }
        if !r.ops.readable() {
            return Err(Error::MethodNotAllowed);
        }
        if let Some(ri) = path.resource_instance_id() {
            if !r.multiple {
                return Err(Error::NotFound);
            }
            let mut cur = None;
            loop {
                match obj.next_resource_instance(inst, rid, cur) {
                    Some(x) if x == ri => break,
                    Some(x) => cur = Some(x),
                    None => return Err(Error::NotFound),
                }
            }
        }
        Ok(())
    }

    /// The format of a response: the Accept option if the engine can produce it (else 4.06),
    /// otherwise text / opaque for a single resource and, for anything larger, the first
    /// enabled of TLV, SenML CBOR and LwM2M CBOR.
    pub(crate) fn response_format(&self, accept: Option<u16>, path: &Path) -> Result<u16> {
        if let Some(a) = accept {
            return if codec::can_encode(a, path) {
                Ok(a)
            } else {
                Err(Error::NotAcceptable)
            };
        }
        if path.len() == 4 || path.len() == 3 && !self.is_multiple(path) {
            let opaque = matches!(self.type_of(path), Some(crate::value::DataType::Opaque));
            return Ok(if opaque { cf::OPAQUE } else { cf::TEXT });
        }
        Ok(MULTI_VALUE_FORMAT)
    }

    fn is_multiple(&self, path: &Path) -> bool {
        (|| {
            let def = self.object(path.object_id()?)?.def();
            Some(def.resource(path.resource_id()?)?.multiple)
        })()
        .unwrap_or(false)
    }

    /// Read: 2.05 with the records below the path.
    pub(crate) fn read(
        &mut self,
        caller: Caller,
        op: &Request<'_>,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        self.check_read_target(caller, &op.path)?;
        let format = self.response_format(op.accept, &op.path)?;
        let tree = Tree {
            engine: self,
            caller,
        };
        respond_records(format, &op.path, &tree, op.block2, None, resp)
    }

    /// FETCH: Read-Composite, or with the `observe-composite` feature and an Observe option,
    /// Observe-Composite (0) and its cancel (1, answered like Read-Composite).
    pub(crate) fn fetch(
        &mut self,
        peer: &super::Peer,
        caller: Caller,
        op: &Request<'_>,
        req: &crate::coap::Message<'_>,
        now: super::Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        #[cfg(feature = "observe-composite")]
        match op.observe {
            Some(0) => return self.observe_composite(peer, caller, op, req, now, resp),
            Some(1) => self.observations.cancel(peer.endpoint, req.token),
            _ => {}
        }
        let _ = (peer, req, now);
        self.read_composite(caller, op, resp)
    }

    /// Read-Composite: FETCH on `/` with a SenML CBOR list of paths.
    #[inline(never)] // measured: smaller outlined than inlined into its caller
    fn read_composite(
        &mut self,
        caller: Caller,
        op: &Request<'_>,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        let mut paths: heapless::Vec<Path, MAX_ATTRIBUTES> = heapless::Vec::new();
        self.composite_paths(caller, op, &mut |p| {
            paths.push(p).map_err(|_| Error::RequestEntityTooLarge)
        })?;
        let format = composite_format(op.accept)?;
        self.respond_composite(caller, format, &paths, op.block2, None, resp)
    }

    /// The answer to a composite request: the records of `paths` that `caller` may read.
    pub(crate) fn respond_composite(
        &self,
        caller: Caller,
        format: u16,
        paths: &[Path],
        block2: Option<Block>,
        observe: Option<u32>,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        let tree = Tree {
            engine: self,
            caller,
        };
        let src = Composite { tree: &tree, paths };
        respond_records(format, &Path::ROOT, &src, block2, observe, resp)
    }

    /// The paths of a composite request on `/` (a SenML CBOR list of names), each checked to
    /// exist and to be readable by `caller`, handed to `add` in order (which fails with 4.13
    /// when it holds no more).
    pub(crate) fn composite_paths(
        &self,
        caller: Caller,
        op: &Request<'_>,
        add: &mut dyn FnMut(Path) -> Result<()>,
    ) -> Result<()> {
        if !op.path.is_root() {
            return Err(Error::MethodNotAllowed);
        }
        if op.content_format != Some(cf::SENML_CBOR) {
            return Err(Error::UnsupportedContentFormat);
        }
        for p in codec::senml_cbor::decode_paths(op.payload) {
            let p = p?;
            if p.is_root() {
                return Err(Error::BadRequest);
            }
            self.check_read_target(caller, &p)?;
            add(p)?;
        }
        Ok(())
    }

    /// The current numeric value of a single resource, for gt / lt / st evaluation.
    pub(crate) fn numeric_value(&self, path: &Path) -> Option<f64> {
        let obj = self.object(path.object_id()?)?;
        let v: Value<'_> = obj
            .read(
                path.instance_id()?,
                path.resource_id()?,
                path.resource_instance_id(),
            )
            .ok()?;
        v.as_f64()
    }
}

/// The format of a composite response: SenML CBOR unless the request accepts LwM2M CBOR.
pub(crate) fn composite_format(accept: Option<u16>) -> Result<u16> {
    match accept {
        None => Ok(cf::SENML_CBOR),
        Some(f @ (cf::SENML_CBOR | cf::LWM2M_CBOR)) => Ok(f),
        Some(_) => Err(Error::NotAcceptable),
    }
}

/// Writes a 2.05 response (or the Observe notification content) with the records of `src`
/// below `base` in `format`, split into Block2 blocks when it does not fit or when the request
/// asked for a block.
#[inline(never)] // one copy instead of one per use: smaller (`make size`)
pub(crate) fn respond_records(
    format: u16,
    base: &Path,
    src: &dyn RecordSource,
    block2: Option<Block>,
    observe: Option<u32>,
    resp: &mut MessageBuilder<'_>,
) -> Result<()> {
    respond_windowed(format, block2, observe, resp, &mut |w| {
        codec::encode(format, base, src, w)
    })
}

/// Writes a 2.05 response whose payload `render` produces in `format`: `render` runs once to
/// count the bytes (so the options can be chosen before the payload) and once into the window
/// of the requested (or first) Block2 block when the payload does not fit.
pub(crate) fn respond_windowed(
    format: u16,
    block2: Option<Block>,
    observe: Option<u32>,
    resp: &mut MessageBuilder<'_>,
    render: &mut dyn FnMut(&mut Writer<'_>) -> Result<()>,
) -> Result<()> {
    let mut none = [0u8; 0];
    let mut counter = Writer::window(&mut none, 0);
    render(&mut counter)?;
    let total = counter.total();

    let room = resp.payload_mut().len().saturating_sub(OPTION_RESERVE);
    let max_szx = Block::szx_for(room.min(1024));
    if room < 16 {
        return Err(Error::InternalServerError);
    }
    let block = match block2 {
        Some(b) => {
            let szx = b.szx.min(max_szx);
            let num = (b.offset() / (16usize << szx)) as u32;
            Some(Block {
                num,
                more: false,
                szx,
            })
        }
        None if total > room => Some(Block {
            num: 0,
            more: false,
            szx: max_szx,
        }),
        None => None,
    };
    let (offset, limit) = match block {
        Some(mut b) => {
            if b.offset() >= total && !(total == 0 && b.num == 0) {
                return Err(Error::BadOption);
            }
            b.more = b.offset() + b.size() < total;
            (b.offset(), b.size())
        }
        None => (0, total),
    };
    resp.set_code(code::CONTENT);
    if let Some(seq) = observe {
        resp.option_uint(option::OBSERVE, seq)
            .map_err(|_| Error::InternalServerError)?;
    }
    resp.option_uint(option::CONTENT_FORMAT, format.into())
        .map_err(|_| Error::InternalServerError)?;
    if let Some(mut b) = block {
        b.more = b.offset() + b.size() < total;
        resp.option_uint(option::BLOCK2, b.to_uint())
            .map_err(|_| Error::InternalServerError)?;
        if b.num == 0 {
            resp.option_uint(option::SIZE2, total as u32)
                .map_err(|_| Error::InternalServerError)?;
        }
    }
    let payload = resp.payload_mut();
    let n = limit.min(payload.len());
    let mut w = Writer::window(&mut payload[..n], offset);
    render(&mut w)?;
    let len = w.window_len();
    resp.set_payload_len(len)
        .map_err(|_| Error::InternalServerError)
}

#[cfg(test)]
mod tests {
    use crate::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
    use crate::dm::Object;
    use crate::engine::{Engine, Identity, Peer, ServerConfig};
    use crate::objects::device::Device;

    /// GET `path` without Accept from server 1; returns (code, Content-Format).
    fn read(path: &[&str]) -> (u8, Option<u32>) {
        let mut device = Device::new("ACME", "M1", "1.0");
        let mut objects: [&mut dyn Object; 1] = [&mut device];
        let mut e = Engine::new("ep", &mut objects, 7).unwrap();
        e.add_server(&ServerConfig {
            ssid: 1,
            uri: "coap://[::1]:5683",
            lifetime: 300,
            mode: 3,
            identity: &[],
            secret_key: &[],
        })
        .unwrap();
        let mut rb = [0u8; 64];
        let mut b = MessageBuilder::new(&mut rb, MessageType::Con, code::GET, 1, &[1]).unwrap();
        for seg in path {
            b.option(option::URI_PATH, seg.as_bytes()).unwrap();
        }
        let n = b.finish();
        let req = Message::parse(&rb[..n]).unwrap();
        let mut tb = [0u8; 512];
        let mut resp = MessageBuilder::new(&mut tb, MessageType::Ack, 0, 1, &[1]).unwrap();
        let peer = Peer {
            identity: Identity::Server(1),
            endpoint: 0,
            source: 0,
        };
        e.handle_request(&peer, &req, 0, &mut resp);
        let n = resp.finish();
        let m = Message::parse(&tb[..n]).unwrap();
        let format = m.option_uint(option::CONTENT_FORMAT).map(|r| r.unwrap());
        (m.code, format)
    }

    #[cfg(any(
        feature = "format-tlv",
        feature = "format-senml-cbor",
        feature = "format-lwm2m-cbor"
    ))]
    #[test]
    fn multi_value_read_uses_first_enabled_format() {
        let (c, f) = read(&["3", "0"]);
        assert_eq!(c, code::CONTENT);
        assert_eq!(f, Some(super::MULTI_VALUE_FORMAT.into()));
        // Single values stay text whatever formats are built in.
        assert_eq!(
            read(&["3", "0", "0"]),
            (code::CONTENT, Some(cf::TEXT.into()))
        );
    }

    #[cfg(all(not(feature = "format-tlv"), feature = "format-senml-cbor"))]
    #[test]
    fn without_tlv_multi_value_read_is_senml_cbor() {
        assert_eq!(
            read(&["3", "0"]),
            (code::CONTENT, Some(cf::SENML_CBOR.into()))
        );
    }

    #[cfg(not(any(
        feature = "format-tlv",
        feature = "format-senml-cbor",
        feature = "format-lwm2m-cbor"
    )))]
    #[test]
    fn without_multi_value_formats_read_is_not_acceptable() {
        assert_eq!(read(&["3", "0"]), (code::NOT_ACCEPTABLE, None));
        assert_eq!(
            read(&["3", "0", "0"]),
            (code::CONTENT, Some(cf::TEXT.into()))
        );
    }

    #[cfg(feature = "format-tlv")]
    #[test]
    fn with_tlv_multi_value_read_is_tlv() {
        assert_eq!(
            read(&["3", "0"]),
            (code::CONTENT, Some(cf::LWM2M_TLV.into()))
        );
    }
}
