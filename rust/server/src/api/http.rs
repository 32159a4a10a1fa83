//! The HTTP/JSON API: routes and their mapping onto LwM2M operations. The HTTP/1.1 server
//! under it (hyper, its limits, the bearer token, the event stream) is in `http_server.rs`.
//!
//! Routes (`<ep>` is the endpoint name, `<path>` an LwM2M path such as `3/0/1`):
//!
//! | Method | Route | Operation |
//! |---|---|---|
//! | GET | `/api/clients` | list registrations |
//! | GET | `/api/clients/<ep>` | one registration |
//! | GET | `/api/clients/<ep>/<path>[?format=senml-cbor\|senml-json\|tlv\|lwm2m-cbor\|lwm2m-json\|text\|opaque]` | Read |
//! | PUT | `/api/clients/<ep>/<path>[?format=..][&replace=false]` (JSON body) | Write (replace; partial update with `replace=false`) |
//! | POST | `/api/clients/<ep>/<O>[?instance=I][&format=..]` (JSON body) | Create |
//! | POST | `/api/clients/<ep>/<O>/<I>` (JSON body) | Write (partial update) |
//! | POST | `/api/clients/<ep>/<O>/<I>/<R>` (text body: arguments) | Execute |
//! | DELETE | `/api/clients/<ep>/<path>` | Delete |
//! | GET | `/api/clients/<ep>[/<path>]/discover` | Discover |
//! | POST / DELETE | `/api/clients/<ep>/<path>/observe[?format=..]` | Observe / cancel |
//! | PUT | `/api/clients/<ep>/<path>/attributes?pmin=..&pmax=..&gt=..&lt=..&st=..` | Write-Attributes |
//! | GET | `/api/clients/<ep>/composite?paths=/3/0/0,/3/0/1[&format=..]` | Read-Composite |
//! | PUT | `/api/clients/<ep>/composite[?format=senml-cbor\|senml-json]` (JSON array of `{path,value[,type]}`) | Write-Composite |
//! | GET | `/api/clients/<ep>/send` | the latest values the client sent (Send, `POST /dp`; [`crate::reporting`]) |
//! | POST / DELETE | `/api/clients/<ep>/composite/observe[?paths=/3/0/0,/3/0/1][&format=..]` | Observe-Composite / cancel |
//! | POST | `/api/clients/<ep>/fota[?name=N][&version=V][&block=B]` (body: the raw image) | Firmware Update push: the image in a manifest, written to /5/0/0 with Block1 ([`crate::fota`]) |
//! | POST | `/api/clients/<ep>/fota?mode=pull[&name=N][&version=V][&host=H:P]` (body: the raw image) | Firmware Update pull: the image in a manifest, served at `coap://<H:P, default the address the client registered to>/fw/<id>` (`coaps://` for a client registered over DTLS; GET with Block2), that URI written to /5/0/1; the answer has the Write's response and `"uri"` |
//! | POST | `/api/clients/<ep>/fota/update` | Execute Update (/5/0/2) |
//! | GET | `/api/clients/<ep>/fota` | State, Update Result, PkgName, PkgVersion |
//! | GET | `/api/events[?endpoint=<ep>]` | event stream, newline-delimited JSON, chunked |
//! | GET | `/api/grants` | client-to-client grants (no secrets) |
//! | DELETE | `/api/grants/<id>` | revoke a grant (report of every step) |
//! | GET | `/api/policy` | the access policy in force |
//! | POST | `/api/policy/reload` | reload the policy file (`400` with the line on a parse error; the old policy stays) |
//! | GET | `/api/relays` | server-centric relays |
//! | POST | `/api/relays` (`{"host":..,"path":..,"requester":..,"target":..}`) | start a relay |
//! | DELETE | `/api/relays/<id>` | stop a relay |
//!
//! JSON write bodies are those of [`crate::dm::values::records_from_json`]. Operation results are
//! `200` with the CoAP response as JSON ([`crate::dm::ops::Response::to_json`]); a 2.xx response
//! whose payload this server cannot decode is `502` with `"success": false`; failures without
//! a CoAP response map to 400 (bad arguments), 404 (unknown endpoint), 502 (RST), 504 (timeout).
//! Without `format=` the server picks the format per client ([`crate::dm::formats`]).

use std::time::Instant;

use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::dm::ops::{Attributes, Response};
use crate::dm::values::{self, records_from_json};
use crate::error::ServerError;
use crate::server::ServerHandle;

/// A parsed HTTP request.
#[derive(Debug, PartialEq)]
pub(crate) struct HttpRequest {
    pub method: String,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request from its method, target (`/path?query`) and body.
    pub(crate) fn new(method: &str, target: &str, body: Vec<u8>) -> Self {
        let (segments, query) = split_target(target);
        HttpRequest {
            method: method.to_owned(),
            segments,
            query,
            body,
        }
    }

    /// The event-stream route, with its endpoint filter.
    pub(crate) fn events_filter(&self) -> Option<Option<String>> {
        (self.method == "GET" && self.segments == ["api", "events"])
            .then(|| self.q("endpoint").map(str::to_owned))
    }
}

impl HttpRequest {
    fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hexval = |j: usize| b.get(j).and_then(|x| (*x as char).to_digit(16));
        match (c, hexval(i + 1), hexval(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a request target into decoded path segments and query pairs.
pub(crate) fn split_target(target: &str) -> (Vec<String>, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segs = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let q = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (segs, q)
}

fn op_result(r: Result<Response, ServerError>) -> (u16, Json) {
    match r {
        // The client answered, but in a payload this server cannot read: not a success.
        Ok(resp) if resp.is_undecodable() => (502, resp.to_json()),
        Ok(resp) => (200, resp.to_json()),
        Err(e) => {
            let status = match e {
                ServerError::UnknownEndpoint(_)
                | ServerError::NotObserved
                | ServerError::UnknownId(_) => 404,
                ServerError::InvalidArgument(_)
                | ServerError::Codec(_)
                | ServerError::Payload(_) => 400,
                ServerError::Reset | ServerError::TooLarge | ServerError::ObserveRefused(_) => 502,
                ServerError::Timeout => 504,
                ServerError::Shutdown | ServerError::QueueFull(_) => 503,
            };
            (status, json!({"error": e.to_string()}))
        }
    }
}

fn op_json(r: Result<Json, ServerError>) -> (u16, Json) {
    match r {
        Ok(j) => (200, j),
        Err(e) => op_result(Err(e)),
    }
}

fn relay_body(req: &HttpRequest) -> Result<(String, Path, String, Path), String> {
    let j = json_body(req)?;
    let s = |k: &str| {
        j.get(k)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("missing string {k:?}"))
    };
    let p = |k: &str| Path::parse_str(&s(k)?).map_err(|_| format!("bad path in {k:?}"));
    Ok((s("host")?, p("path")?, s("requester")?, p("target")?))
}

fn bad(msg: impl Into<String>) -> (u16, Json) {
    (400, json!({"error": msg.into()}))
}

fn parse_path(segs: &[String]) -> Result<Path, String> {
    let ids: Result<Vec<u16>, _> = segs
        .iter()
        .map(|s| Path::parse_segment(s.as_bytes()))
        .collect();
    ids.ok()
        .and_then(|ids| Path::from_ids(&ids).ok())
        .ok_or_else(|| format!("bad LwM2M path /{}", segs.join("/")))
}

fn json_body(req: &HttpRequest) -> Result<Json, String> {
    serde_json::from_slice(&req.body).map_err(|e| format!("bad JSON body: {e}"))
}

/// Dispatches a request (everything except the event stream) to a status and JSON body.
pub(crate) fn route(h: &ServerHandle, req: &HttpRequest) -> (u16, Json) {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["api", "clients"]) => {
            let now = Instant::now();
            (
                200,
                Json::Array(h.clients().iter().map(|r| r.to_json(now)).collect()),
            )
        }
        ("GET", ["api", "clients", ep]) => match h.client(ep) {
            Some(r) => (200, r.to_json(Instant::now())),
            None => (
                404,
                json!({"error": format!("no client registered as {ep:?}")}),
            ),
        },
        ("GET", ["api", "grants"]) => (200, h.grants()),
        ("DELETE", ["api", "grants", id]) => match id.parse::<u64>() {
            Ok(id) => op_json(h.revoke(id)),
            Err(_) => bad("bad grant ID"),
        },
        ("GET", ["api", "policy"]) => (200, h.policy().to_json()),
        ("POST", ["api", "policy", "reload"]) => match h.reload_policy() {
            Ok(n) => (200, json!({"rules": n})),
            Err(e) => bad(e.to_string()),
        },
        ("GET", ["api", "relays"]) => (
            200,
            Json::Array(h.relay_list().iter().map(|r| r.to_json()).collect()),
        ),
        ("POST", ["api", "relays"]) => match relay_body(req) {
            Ok((host, path, requester, target)) => op_json(
                h.relay(&host, &path, &requester, &target)
                    .map(|id| json!({"id": id})),
            ),
            Err(e) => bad(e),
        },
        ("DELETE", ["api", "relays", id]) => match id.parse::<u64>() {
            Ok(id) => op_json(h.stop_relay(id).map(|()| json!({"stopped": id}))),
            Err(_) => bad("bad relay ID"),
        },
        (_, ["api", "clients", ep, ..]) => {
            let rest = req.segments.get(3..).unwrap_or(&[]);
            match client_route(h, req, ep, rest) {
                Ok(r) => r,
                Err(e) => bad(e),
            }
        }
        _ => (404, json!({"error": "no such route"})),
    }
}

/// The `paths=/3/0/0,/3/0/1` of a composite request.
fn query_paths(req: &HttpRequest) -> Result<Vec<Path>, String> {
    req.q("paths")
        .unwrap_or("")
        .split(',')
        .filter(|p| !p.is_empty())
        .map(Path::parse_str)
        .collect::<Result<Vec<Path>, _>>()
        .map_err(|_| "bad path in paths=".to_string())
}

fn client_route(
    h: &ServerHandle,
    req: &HttpRequest,
    ep: &str,
    rest: &[String],
) -> Result<(u16, Json), String> {
    let format = req
        .q("format")
        .map(|f| values::parse_format(f).ok_or_else(|| format!("unknown format {f:?}")))
        .transpose()?;
    let m = req.method.as_str();
    let (last, head) = match rest.split_last() {
        Some((l, h)) => (l.as_str(), h),
        None => ("", rest),
    };
    Ok(match (m, last) {
        ("GET", "composite") if head.is_empty() => {
            op_result(h.read_composite(ep, &query_paths(req)?, format))
        }
        ("POST", "observe") if head == ["composite"] => {
            op_result(h.observe_composite(ep, &query_paths(req)?, format))
        }
        ("DELETE", "observe") if head == ["composite"] => {
            op_result(h.cancel_observe(ep, &Path::ROOT))
        }
        ("PUT", "composite") if head.is_empty() => {
            let recs = records_from_json(&json_body(req)?, &Path::ROOT)?;
            op_result(h.write_composite(ep, &recs, format))
        }
        ("GET", "send") if head.is_empty() => op_json(h.sent_values(ep).map(|r| {
            r.map_or_else(
                || json!({"sends": 0, "dropped": 0, "values": []}),
                |r| r.to_json(),
            )
        })),
        ("POST", "fota") if head.is_empty() && req.q("mode") == Some("pull") => {
            let (name, version) = (req.q("name").unwrap_or(""), req.q("version").unwrap_or(""));
            let pulled = crate::fota::package(&req.body, name, version)
                .and_then(|p| h.fota_pull(ep, p, req.q("host")));
            match pulled {
                Ok((r, uri)) => {
                    let (status, mut j) = op_result(Ok(r));
                    j["uri"] = json!(uri);
                    (status, j)
                }
                Err(e) => op_result(Err(e)),
            }
        }
        ("POST", "fota") if head.is_empty() && req.q("mode").is_some_and(|m| m != "push") => {
            return Err("mode: push or pull".into());
        }
        ("POST", "fota") if head.is_empty() => {
            let block = match req.q("block") {
                Some(b) => b.parse().map_err(|_| format!("block={b}"))?,
                None => crate::fota::DEFAULT_BLOCK_SIZE,
            };
            let (name, version) = (req.q("name").unwrap_or(""), req.q("version").unwrap_or(""));
            op_result(
                crate::fota::package(&req.body, name, version)
                    .and_then(|p| h.fota_push(ep, p, block)),
            )
        }
        ("POST", "update") if head == ["fota"] => op_result(h.fota_update(ep)),
        ("GET", "fota") if head.is_empty() => op_json(h.fota_status(ep)),
        ("GET", "discover") => op_result(h.discover(ep, &parse_path(head)?)),
        ("POST", "observe") => op_result(h.observe(ep, &parse_path(head)?, format)),
        ("DELETE", "observe") => op_result(h.cancel_observe(ep, &parse_path(head)?)),
        ("PUT", "attributes") => {
            let attrs = Attributes::parse(
                req.query
                    .iter()
                    .map(|(k, v)| (k.as_str(), (!v.is_empty()).then_some(v.as_str()))),
            )?;
            op_result(h.write_attributes(ep, &parse_path(head)?, &attrs))
        }
        _ => {
            let path = parse_path(rest)?;
            match (m, path.len()) {
                ("GET", _) => op_result(h.read(ep, &path, format)),
                ("DELETE", _) => op_result(h.delete(ep, &path)),
                ("PUT", _) => {
                    let recs = records_from_json(&json_body(req)?, &path)?;
                    let replace = req.q("replace") != Some("false");
                    op_result(h.write(ep, &path, &recs, format, replace))
                }
                ("POST", 1) => {
                    let obj = path.object_id().unwrap_or(0);
                    let instance = req
                        .q("instance")
                        .map(|i| i.parse::<u16>().map_err(|_| "bad instance".to_string()))
                        .transpose()?;
                    let base = Path::instance(obj, instance.unwrap_or(0));
                    let recs = if req.body.is_empty() {
                        Vec::new()
                    } else {
                        records_from_json(&json_body(req)?, &base)?
                    };
                    op_result(h.create(ep, obj, instance, &recs, format))
                }
                ("POST", 2) => {
                    let recs = records_from_json(&json_body(req)?, &path)?;
                    op_result(h.write(ep, &path, &recs, format, false))
                }
                ("POST", 3) => {
                    let args = String::from_utf8_lossy(&req.body).into_owned();
                    let args = (!args.is_empty()).then_some(args.as_str());
                    op_result(h.execute(ep, &path, args))
                }
                _ => (405, json!({"error": "method not allowed here"})),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_split_and_decoded() {
        let (s, q) = split_target("/api/clients/node%201/3/0?format=tlv&x");
        assert_eq!(s, vec!["api", "clients", "node 1", "3", "0"]);
        assert_eq!(
            q,
            vec![
                ("format".to_string(), "tlv".to_string()),
                ("x".to_string(), String::new())
            ]
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn lwm2m_paths_from_segments() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_path(&s(&["3", "0", "1"])),
            Ok(Path::resource(3, 0, 1))
        );
        assert_eq!(parse_path(&[]), Ok(Path::ROOT));
        assert!(parse_path(&s(&["3", "x"])).is_err());
        assert!(parse_path(&s(&["1", "2", "3", "4", "5"])).is_err());
    }
}
