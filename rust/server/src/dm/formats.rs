//! Which content format the server uses toward a client (LwM2M 1.1 TS Core section 7.1).
//!
//! Without an explicit format (`--format` on the console, `format=` in the API) the server
//! tries, in order: the format this registration last answered or accepted
//! ([`crate::Registration::format`]); the version's default, SenML CBOR (112) for 1.1 and TLV
//! (11542, mandatory in 1.0) for 1.0; TLV; for 1.1 SenML JSON (110); and plain text when the
//! request is about one resource (or resource instance). It moves to the next only when the
//! client answers 4.06 Not Acceptable (reads, observations) or 4.15 Unsupported Content-Format
//! (writes, creates). An explicit format is used alone, without fallback.

use lwm2m::coap::{code, content_format as cf};
use lwm2m::Path;

use crate::dm::ops::Response;
use crate::error::ServerError;
use crate::transport::msg::OutRequest;

/// The first format to try for a client of LwM2M `version`.
pub fn default_format(version: &str) -> u16 {
    if version.starts_with("1.0") {
        cf::LWM2M_TLV
    } else {
        cf::SENML_CBOR
    }
}

/// The formats to try, in order, for a request on `path` (see the module text).
pub fn candidates(version: &str, remembered: Option<u16>, path: &Path) -> Vec<u16> {
    let mut out = Vec::new();
    let mut add = |f: u16| {
        if !out.contains(&f) {
            out.push(f);
        }
    };
    if let Some(f) = remembered {
        add(f);
    }
    add(default_format(version));
    add(cf::LWM2M_TLV);
    if !version.starts_with("1.0") {
        add(cf::SENML_JSON);
    }
    if path.len() >= 3 {
        add(cf::TEXT);
    }
    out
}

/// True for the answers that mean "not in this format": 4.06 and 4.15.
pub fn is_format_refusal(c: u8) -> bool {
    c == code::NOT_ACCEPTABLE || c == code::UNSUPPORTED_CONTENT_FORMAT
}

/// True for formats worth remembering for a client: those that carry several values (text and
/// opaque only work for single resources).
pub fn is_general(f: u16) -> bool {
    matches!(
        f,
        cf::LWM2M_TLV | cf::SENML_CBOR | cf::SENML_JSON | cf::LWM2M_CBOR | cf::LWM2M_JSON
    )
}

/// Sends the request built for each format of `formats` in turn until the client answers
/// something other than 4.06 / 4.15. A format the request cannot be built in (e.g. text for
/// several values) is skipped. Returns the last answer and the format it was asked in; with
/// no answer at all, the first build error.
pub(crate) fn try_formats(
    formats: &[u16],
    mut build: impl FnMut(u16) -> Result<OutRequest, ServerError>,
    mut send: impl FnMut(OutRequest) -> Result<Response, ServerError>,
) -> Result<(Response, u16), ServerError> {
    let mut last: Option<(Response, u16)> = None;
    let mut build_error = None;
    for &f in formats {
        let req = match build(f) {
            Ok(r) => r,
            Err(e) => {
                build_error.get_or_insert(e);
                continue;
            }
        };
        let r = send(req)?;
        if !is_format_refusal(r.code) {
            return Ok((r, f));
        }
        last = Some((r, f));
    }
    match (last, build_error) {
        (Some(l), _) => Ok(l),
        (None, Some(e)) => Err(e),
        (None, None) => Err(ServerError::InvalidArgument(
            "no content format to try".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_by_version_and_path() {
        let inst = Path::instance(3, 0);
        let res = Path::resource(3, 0, 0);
        assert_eq!(candidates("1.0", None, &inst), vec![cf::LWM2M_TLV]);
        assert_eq!(candidates("1.0", None, &res), vec![cf::LWM2M_TLV, cf::TEXT]);
        assert_eq!(
            candidates("1.1", None, &res),
            vec![cf::SENML_CBOR, cf::LWM2M_TLV, cf::SENML_JSON, cf::TEXT]
        );
        assert_eq!(
            candidates("1.1", Some(cf::SENML_JSON), &inst),
            vec![cf::SENML_JSON, cf::SENML_CBOR, cf::LWM2M_TLV]
        );
    }

    fn answer(c: u8) -> Response {
        Response {
            code: c,
            content_format: None,
            payload: Vec::new(),
            observe: None,
            path: Path::ROOT,
            location: Vec::new(),
        }
    }

    #[test]
    fn falls_back_only_on_format_refusals() {
        let mut asked = Vec::new();
        let (r, f) = try_formats(
            &[cf::SENML_CBOR, cf::LWM2M_TLV, cf::TEXT],
            |f| {
                let mut r = OutRequest::new(code::GET, Vec::new());
                r.accept = Some(f);
                Ok(r)
            },
            |req| {
                asked.push(req.accept.unwrap());
                Ok(answer(if req.accept == Some(cf::SENML_CBOR) {
                    code::NOT_ACCEPTABLE
                } else {
                    code::CONTENT
                }))
            },
        )
        .unwrap();
        assert_eq!((r.code, f), (code::CONTENT, cf::LWM2M_TLV));
        assert_eq!(asked, vec![cf::SENML_CBOR, cf::LWM2M_TLV]);
        // 4.04 is an answer, not a refusal of the format: no second try.
        let mut n = 0;
        let (r, _) = try_formats(
            &[cf::SENML_CBOR, cf::LWM2M_TLV],
            |_| Ok(OutRequest::default()),
            |_| {
                n += 1;
                Ok(answer(code::NOT_FOUND))
            },
        )
        .unwrap();
        assert_eq!((r.code, n), (code::NOT_FOUND, 1));
        // Every format refused: the last refusal is the answer.
        let (r, f) = try_formats(
            &[cf::SENML_CBOR, cf::LWM2M_TLV],
            |_| Ok(OutRequest::default()),
            |_| Ok(answer(code::UNSUPPORTED_CONTENT_FORMAT)),
        )
        .unwrap();
        assert_eq!(
            (r.code, f),
            (code::UNSUPPORTED_CONTENT_FORMAT, cf::LWM2M_TLV)
        );
        // Nothing buildable: the build error.
        let e = try_formats(
            &[cf::TEXT],
            |_| Err(ServerError::InvalidArgument("x".into())),
            |_| Ok(answer(code::CONTENT)),
        );
        assert_eq!(e.unwrap_err(), ServerError::InvalidArgument("x".into()));
    }
}
