//! CoRE Link Format (RFC 6690, Content-Format 40): writing links for Register / Update payloads
//! and Discover responses, and parsing them (the server reads registration payloads).

use super::Writer;
use crate::error::Result;
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
    let _ = (w, first, path, attrs);
    todo!("codec helper")
}

/// One parsed link: the target between `<` and `>`, and its raw attribute list.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link<'a> {
    /// The URI reference between the angle brackets.
    pub target: &'a str,
    /// The attributes after the target, without the leading `;` (e.g. `ver=1.1;rt="x"`).
    pub attrs: &'a str,
}

impl<'a> Link<'a> {
    /// Iterates `(name, value)` pairs of the attributes; quotes are removed from quoted values.
    pub fn attributes(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        let _ = self;
        core::iter::empty()
    }
}

/// Parses a link-format document into links. Malformed input yields an error item and ends.
pub fn parse(doc: &str) -> impl Iterator<Item = Result<Link<'_>>> + '_ {
    let _ = doc;
    core::iter::empty()
}
