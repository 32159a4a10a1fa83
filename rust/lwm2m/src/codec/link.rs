//! CoRE Link Format (RFC 6690, Content-Format 40): writing links for Register / Update payloads
//! and Discover responses, and parsing them (the server reads registration payloads).

use super::text::{write_f64, write_u64};
use super::Writer;
use crate::error::{Error, Result};
use crate::path::Path;

/// One attribute of a link, e.g. `ver="1.1"`, `dim=2`, `pmin=10` or a value-less `c`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LinkAttr<'a> {
    /// An attribute with an unsigned integer value, written bare (`pmin=10`).
    Uint(&'a str, u64),
    /// An attribute with a number value, written with the shortest round-trip text (`gt=20.5`).
    Float(&'a str, f64),
    /// An attribute with a token value, written bare (`ver=1.1`).
    Token(&'a str, &'a str),
    /// An attribute with a quoted-string value (`rt="oma.lwm2m"`).
    Quoted(&'a str, &'a str),
    /// A value-less attribute.
    Flag(&'a str),
}

/// Writes one link `</3/0/1>;attr=...`, preceded by a comma unless `first`.
pub fn write_link(
    w: &mut Writer<'_>,
    first: bool,
    path: &Path,
    attrs: &[LinkAttr<'_>],
) -> Result<()> {
    if !first {
        w.byte(b',')?;
    }
    w.byte(b'<')?;
    if path.is_root() {
        w.byte(b'/')?;
    }
    for &id in path.ids() {
        w.byte(b'/')?;
        write_u64(w, id.into())?;
    }
    w.byte(b'>')?;
    for a in attrs {
        w.byte(b';')?;
        let (LinkAttr::Uint(name, _)
        | LinkAttr::Float(name, _)
        | LinkAttr::Token(name, _)
        | LinkAttr::Quoted(name, _)
        | LinkAttr::Flag(name)) = *a;
        w.write(name.as_bytes())?;
        match *a {
            LinkAttr::Uint(_, v) => {
                w.byte(b'=')?;
                write_u64(w, v)?;
            }
            LinkAttr::Float(_, v) => {
                w.byte(b'=')?;
                write_f64(w, v)?;
            }
            LinkAttr::Token(_, v) => {
                w.byte(b'=')?;
                w.write(v.as_bytes())?;
            }
            LinkAttr::Quoted(_, v) => {
                w.write(b"=\"")?;
                w.write(v.as_bytes())?;
                w.byte(b'"')?;
            }
            LinkAttr::Flag(_) => {}
        }
    }
    Ok(())
}

/// One parsed link: the target between `<` and `>`, and its raw attribute list.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link<'a> {
    /// The URI reference between the angle brackets.
    pub target: &'a str,
    /// The attributes after the target, without the leading `;` (e.g. `ver=1.1;rt="x"`).
    pub attrs: &'a str,
}

/// Byte index of the first `stop` byte in `s` outside a quoted string (a backslash escapes the
/// next byte inside quotes), `s.len()` if none, or `None` if a quote is left open.
fn find_unquoted(s: &str, stop: u8) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted {
            match c {
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if c == b'"' {
            quoted = true;
        } else if c == stop {
            return Some(i);
        }
    }
    (!quoted).then_some(s.len())
}

impl<'a> Link<'a> {
    /// Iterates `(name, value)` pairs of the attributes; quotes are removed from quoted values
    /// (escapes inside them are kept as written). Empty entries (`;;`) are skipped.
    pub fn attributes(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        let mut rest = Some(self.attrs);
        core::iter::from_fn(move || loop {
            let s = rest?;
            let end = find_unquoted(s, b';').unwrap_or(s.len());
            let (item, tail) = s.split_at(end);
            rest = tail.get(1..);
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            return Some(match item.split_once('=') {
                None => (item, None),
                Some((name, value)) => {
                    let value = value.trim();
                    let unquoted = value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(value);
                    (name.trim(), Some(unquoted))
                }
            });
        })
    }
}

/// Iterator of [`parse`].
struct Links<'a> {
    rest: &'a str,
    done: bool,
}

impl<'a> Links<'a> {
    fn link(&mut self) -> Result<Link<'a>> {
        let s = self.rest.trim_start();
        let s = s.strip_prefix('<').ok_or(Error::BadRequest)?;
        let (target, s) = s.split_once('>').ok_or(Error::BadRequest)?;
        let end = find_unquoted(s, b',').ok_or(Error::BadRequest)?;
        let (attrs, tail) = s.split_at(end);
        let attrs = attrs.trim_end();
        let attrs = if attrs.is_empty() {
            attrs
        } else {
            attrs.strip_prefix(';').ok_or(Error::BadRequest)?
        };
        // Every attribute needs a name made of token characters (RFC 6690 `parmname`).
        let valid_name = |n: &str| {
            !n.is_empty()
                && n.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"!#$&+-.^_`|~*".contains(&c))
        };
        let link = Link { target, attrs };
        if !link.attributes().all(|(n, _)| valid_name(n)) {
            return Err(Error::BadRequest);
        }
        match tail.strip_prefix(',') {
            Some(next) if next.trim().is_empty() => return Err(Error::BadRequest),
            Some(next) => self.rest = next,
            None => self.done = true,
        }
        Ok(link)
    }
}

impl<'a> Iterator for Links<'a> {
    type Item = Result<Link<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let link = self.link();
        if link.is_err() {
            self.done = true;
        }
        Some(link)
    }
}

/// Parses a link-format document into links. Malformed input yields an error item
/// ([`Error::BadRequest`]) and ends; whitespace around the commas is tolerated.
pub fn parse(doc: &str) -> impl Iterator<Item = Result<Link<'_>>> + '_ {
    Links {
        rest: doc,
        done: doc.trim().is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::String;
    use std::{vec, vec::Vec};

    fn written(links: &[(Path, &[LinkAttr<'_>])]) -> String {
        let mut buf = [0u8; 256];
        let mut w = Writer::new(&mut buf);
        for (i, (p, a)) in links.iter().enumerate() {
            write_link(&mut w, i == 0, p, a).unwrap();
        }
        String::from_utf8(w.window_data().to_vec()).unwrap()
    }

    type Parsed<'a> = Result<(&'a str, Vec<(&'a str, Option<&'a str>)>)>;

    fn parsed(doc: &str) -> Vec<Parsed<'_>> {
        parse(doc)
            .map(|l| l.map(|l| (l.target, l.attributes().collect())))
            .collect()
    }

    #[test]
    fn writes_registration_payload() {
        let s = written(&[
            (
                Path::ROOT,
                &[
                    LinkAttr::Quoted("rt", "oma.lwm2m"),
                    LinkAttr::Uint("ct", 11543),
                ],
            ),
            (Path::instance(1, 0), &[]),
            (Path::instance(3, 0), &[]),
            (Path::instance(3303, 0), &[LinkAttr::Token("ver", "1.1")]),
        ]);
        assert_eq!(
            s,
            r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303/0>;ver=1.1"#
        );
    }

    #[test]
    fn writes_discover_answer() {
        let s = written(&[
            (Path::instance(3, 0), &[LinkAttr::Uint("pmin", 10)]),
            (Path::resource(3, 0, 1), &[]),
            (Path::resource(3, 0, 7), &[LinkAttr::Uint("dim", 2)]),
            (
                Path::resource_instance(3, 0, 7, 1),
                &[
                    LinkAttr::Float("gt", 20.5),
                    LinkAttr::Float("lt", -3.0),
                    LinkAttr::Flag("c"),
                ],
            ),
        ]);
        assert_eq!(
            s,
            "</3/0>;pmin=10,</3/0/1>,</3/0/7>;dim=2,</3/0/7/1>;gt=20.5;lt=-3;c"
        );
    }

    #[test]
    fn parses_registration_payload() {
        let got = parsed(r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303/0>;ver=1.1"#);
        assert_eq!(
            got,
            [
                Ok(("/", vec![("rt", Some("oma.lwm2m")), ("ct", Some("11543"))])),
                Ok(("/1/0", vec![])),
                Ok(("/3/0", vec![])),
                Ok(("/3303/0", vec![("ver", Some("1.1"))])),
            ]
        );
    }

    #[test]
    fn parses_discover_answer_and_tolerates_whitespace() {
        let got = parsed("</3/0>;pmin=10, </3/0/1>,\n\t</3/0/7>;dim=2 ");
        assert_eq!(
            got,
            [
                Ok(("/3/0", vec![("pmin", Some("10"))])),
                Ok(("/3/0/1", vec![])),
                Ok(("/3/0/7", vec![("dim", Some("2"))])),
            ]
        );
    }

    #[test]
    fn quoted_values_may_hold_separators() {
        let got = parsed(r#"</a>;title="x, y; \"z\"";c,</b>"#);
        assert_eq!(
            got,
            [
                Ok(("/a", vec![("title", Some(r#"x, y; \"z\""#)), ("c", None)])),
                Ok(("/b", vec![])),
            ]
        );
    }

    #[test]
    fn empty_attributes_are_skipped() {
        assert_eq!(parsed("</3/0>;;c;"), [Ok(("/3/0", vec![("c", None)]))]);
    }

    #[test]
    fn empty_document_has_no_links() {
        assert!(parsed("").is_empty());
        assert!(parsed("  ").is_empty());
    }

    #[test]
    fn malformed_input_yields_one_error_and_ends() {
        for bad in [
            "/3/0",
            "</3/0",
            "</3/0>x",
            "</3/0>;=1",
            "</3/0>;a b=1",
            r#"</3/0>;rt="open"#,
            "</3/0>,",
            "</3/0>,,</1>",
            "</1>,junk",
        ] {
            let got = parsed(bad);
            assert_eq!(got.last(), Some(&Err(Error::BadRequest)), "{bad}");
            assert_eq!(got.iter().filter(|r| r.is_err()).count(), 1, "{bad}");
        }
        // Links before the error are still delivered.
        assert_eq!(parsed("</1>,junk").len(), 2);
    }

    proptest! {
        #[test]
        fn write_then_parse(
            links in proptest::collection::vec(
                (
                    proptest::collection::vec(0u16..65535, 0..=4),
                    proptest::option::of(0u64..100_000),
                    proptest::option::of("[a-z.]{0,10}"),
                ),
                1..6,
            )
        ) {
            let mut buf = [0u8; 1024];
            let mut w = Writer::new(&mut buf);
            for (i, (ids, pmin, rt)) in links.iter().enumerate() {
                let mut attrs = Vec::new();
                if let Some(v) = pmin {
                    attrs.push(LinkAttr::Uint("pmin", *v));
                }
                if let Some(rt) = rt {
                    attrs.push(LinkAttr::Quoted("rt", rt));
                }
                write_link(&mut w, i == 0, &Path::from_ids(ids).unwrap(), &attrs).unwrap();
            }
            let doc = core::str::from_utf8(w.window_data()).unwrap();
            let got: Vec<_> = parse(doc).collect::<Result<_>>().unwrap();
            prop_assert_eq!(got.len(), links.len());
            for (l, (ids, pmin, rt)) in got.iter().zip(&links) {
                prop_assert_eq!(Path::parse_str(l.target), Ok(Path::from_ids(ids).unwrap()));
                let attrs: Vec<_> = l.attributes().collect();
                let pmin_s = pmin.map(|v| std::format!("{v}"));
                let mut expect = Vec::new();
                if let Some(v) = &pmin_s {
                    expect.push(("pmin", Some(v.as_str())));
                }
                if let Some(rt) = rt {
                    expect.push(("rt", Some(rt.as_str())));
                }
                prop_assert_eq!(attrs, expect);
            }
        }

        #[test]
        fn parse_never_panics(doc in "[<>/;,=\" a-z0-9\\\\]{0,40}") {
            for l in parse(&doc).flatten() {
                let _ = l.attributes().count();
            }
        }
    }
}
