//! The access policy of `POST /ac`: which requesting client may get which rights on which
//! hosting client's objects, and for how long.
//!
//! # File format
//!
//! One rule per line; `#` starts a comment; blank lines are ignored. A rule is `allow` or
//! `deny` followed by `key=value` fields, all optional:
//!
//! ```text
//! # requester / host: endpoint names, `*` matches any run of characters (default `*`)
//! # path: an object or instance prefix, `/` = everything (default `/`)
//! # rights: `all`, a number (`33`, `0x21`) or names joined by `,` or `+`:
//! #         read write execute delete create discover (default `all`)
//! # lifetime: longest lifetime in seconds of one grant: the account lifetime written at the
//! #           install and at each refresh (allow rules only)
//! # renew: how long refreshes may keep the access going, in seconds after the first grant
//! #        (the accounts never live past it); `no` (or 0): no refresh; absent: refreshes
//! #        without end (allow rules only)
//! allow requester=lamp-switch-* host=lamp-* path=/3311 rights=read,write lifetime=600 renew=3600
//! deny  requester=* host=door-* path=/3 rights=write
//! allow requester=* host=* path=/3303 rights=read+discover
//! ```
//!
//! Every grant of a request (one path with its rights) is checked on its own; the request is
//! allowed only if every grant is. For one grant, the rules are tried top to bottom and the
//! first rule that *applies* decides:
//! - requester and host patterns match the endpoints, and the rule's path is a prefix of the
//!   grant's path (`/3311` covers `/3311` and `/3311/0`; `/3311/0` does not cover `/3311`);
//! - an `allow` rule applies when all requested rights are within its rights;
//! - a `deny` rule applies when any requested right is within its rights.
//!
//! Nothing applies: deny (default deny). The account lifetime is the server's default
//! lifetime, lowered to the smallest `lifetime=` of the allow rules that decided.
//!
//! An access request for a pair that already has accounts (a refresh, with or without new
//! credentials) is decided again, and the smallest `renew=` of the deciding rules bounds it:
//! refused with 4.03 once `renew` seconds have passed since the pair's first grant (or at
//! once with `renew=no`), else the lifetime written is cut so that the accounts end by then.
//! When the accounts have ended the server forgets the pair; a later request with `c` is a
//! new grant, decided anew.
//!
//! The server's own objects and the C2C objects (0, 1, 2, 11000, 11001, 11002, 21) are never
//! granted, whatever the policy says.

use std::fmt;
use std::path::Path as FsPath;
use std::time::{Duration, SystemTime};

use lwm2m::c2c::{access_request::Grant, rights};
use lwm2m::Path;
use serde_json::{json, Value as Json};

/// One policy rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Line number in the file (1-based; 0 for rules built in code).
    pub line: usize,
    /// `allow` (true) or `deny`.
    pub allow: bool,
    /// Requester endpoint pattern (`*` wildcards).
    pub requester: String,
    /// Hosting endpoint pattern (`*` wildcards).
    pub host: String,
    /// Path prefix.
    pub path: Path,
    /// Rights mask ([`rights`] bits).
    pub rights: u8,
    /// Longest account lifetime (s) this rule grants, per install or refresh.
    pub max_lifetime: Option<u32>,
    /// How long after a pair's first grant refreshes are granted (s; 0: never); `None`:
    /// without bound.
    pub renew: Option<u32>,
}

impl Rule {
    fn covers(&self, requester: &str, host: &str, g: &Grant) -> bool {
        let rights_ok = if self.allow {
            g.rights & !self.rights == 0
        } else {
            g.rights & self.rights != 0
        };
        rights_ok
            && g.path.starts_with(&self.path)
            && glob(&self.requester, requester)
            && glob(&self.host, host)
    }

    /// The rule as a policy-file line.
    pub fn to_line(&self) -> String {
        let mut s = format!(
            "{} requester={} host={} path={} rights={}",
            if self.allow { "allow" } else { "deny" },
            self.requester,
            self.host,
            self.path,
            rights_text(self.rights)
        );
        if let Some(l) = self.max_lifetime {
            s.push_str(&format!(" lifetime={l}"));
        }
        match self.renew {
            Some(0) => s.push_str(" renew=no"),
            Some(r) => s.push_str(&format!(" renew={r}")),
            None => {}
        }
        s
    }
}

/// A parse error with its line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line number (0: the file could not be read).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for PolicyError {}

/// The outcome of a policy check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Every grant is allowed; the smallest `lifetime=` and `renew=` of the deciding rules.
    Allow {
        /// Lifetime cap (s).
        max_lifetime: Option<u32>,
        /// Refresh bound (s after the first grant; 0: no refresh).
        renew: Option<u32>,
    },
    /// Some grant is denied.
    Deny {
        /// Which grant and which rule (or the default).
        reason: String,
    },
}

/// Objects no client is ever granted: the server's own and the C2C account objects.
pub const PROTECTED_OBJECTS: [u16; 7] = [0, 1, 2, 11000, 11001, 11002, 21];

/// An ordered list of rules (empty: deny everything).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The rules in file order.
    pub rules: Vec<Rule>,
}

impl Policy {
    /// Parses a policy file's text.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let err = |message: String| PolicyError { line, message };
            let mut words = content.split_whitespace();
            let allow = match words.next() {
                Some("allow") => true,
                Some("deny") => false,
                Some(w) => return Err(err(format!("expected allow or deny, got {w:?}"))),
                None => continue,
            };
            let mut rule = Rule {
                line,
                allow,
                requester: "*".into(),
                host: "*".into(),
                path: Path::ROOT,
                rights: rights::ALL,
                max_lifetime: None,
                renew: None,
            };
            let mut seen = Vec::new();
            for w in words {
                let (k, v) = w
                    .split_once('=')
                    .ok_or_else(|| err(format!("expected key=value, got {w:?}")))?;
                if seen.contains(&k) {
                    return Err(err(format!("{k} given twice")));
                }
                seen.push(k);
                if v.is_empty() {
                    return Err(err(format!("{k} needs a value")));
                }
                match k {
                    "requester" => rule.requester = v.to_owned(),
                    "host" => rule.host = v.to_owned(),
                    "path" => {
                        let p = Path::parse_str(v)
                            .ok()
                            .filter(|p| p.len() <= 2)
                            .ok_or_else(|| err(format!("bad path {v:?} (use /, /O or /O/I)")))?;
                        rule.path = p;
                    }
                    "rights" => {
                        rule.rights =
                            parse_rights(v).ok_or_else(|| err(format!("bad rights {v:?}")))?;
                    }
                    "lifetime" if allow => {
                        let l = v.parse::<u32>().ok().filter(|l| *l > 0);
                        rule.max_lifetime = Some(
                            l.ok_or_else(|| err(format!("bad lifetime {v:?} (seconds > 0)")))?,
                        );
                    }
                    "renew" if allow => {
                        let r = match v {
                            "no" => Some(0),
                            n => n.parse::<u32>().ok(),
                        };
                        rule.renew = Some(
                            r.ok_or_else(|| err(format!("bad renew {v:?} (seconds, or no)")))?,
                        );
                    }
                    k @ ("lifetime" | "renew") => {
                        return Err(err(format!("{k} only makes sense on allow")))
                    }
                    _ => return Err(err(format!("unknown field {k:?}"))),
                }
            }
            rules.push(rule);
        }
        Ok(Policy { rules })
    }

    /// Reads and parses a policy file.
    pub fn load(path: &FsPath) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            line: 0,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// Decides on every grant of one request.
    pub fn decide(&self, requester: &str, host: &str, grants: &[Grant]) -> Decision {
        let mut cap: Option<u32> = None;
        let mut renew: Option<u32> = None;
        for g in grants {
            let what = format!("{} {} on {host}", rights_text(g.rights), g.path);
            if g.path
                .object_id()
                .is_some_and(|o| PROTECTED_OBJECTS.contains(&o))
            {
                return Decision::Deny {
                    reason: format!("{what}: object {} is never granted", g.path),
                };
            }
            match self.rules.iter().find(|r| r.covers(requester, host, g)) {
                Some(r) if r.allow => {
                    if let Some(l) = r.max_lifetime {
                        cap = Some(cap.map_or(l, |c| c.min(l)));
                    }
                    if let Some(l) = r.renew {
                        renew = Some(renew.map_or(l, |c| c.min(l)));
                    }
                }
                Some(r) => {
                    return Decision::Deny {
                        reason: format!("{what}: denied by rule on line {}", r.line),
                    }
                }
                None => {
                    return Decision::Deny {
                        reason: format!("{what}: no rule allows it (default deny)"),
                    }
                }
            }
        }
        Decision::Allow {
            max_lifetime: cap,
            renew,
        }
    }

    /// The JSON form (for `GET /api/policy`).
    pub fn to_json(&self) -> Json {
        Json::Array(
            self.rules
                .iter()
                .map(|r| json!({"line": r.line, "rule": r.to_line()}))
                .collect(),
        )
    }
}

/// The lifetime to write under a `renew` bound (see the module text): for a new
/// pair (`granted` = `None`) the grant's lifetime, at most `renew` when that is set; for a
/// refresh of a pair granted at `granted`, refused once `renew` seconds have passed since then
/// (at once for `renew` = 0), else cut to the time left. `lifetime` 0 means forever.
pub fn bounded_lifetime(
    lifetime: u32,
    renew: Option<u32>,
    granted: Option<SystemTime>,
    now: SystemTime,
) -> Result<u32, String> {
    let Some(total) = renew else {
        return Ok(lifetime);
    };
    let Some(granted) = granted else {
        return Ok(match (lifetime, total) {
            (l, 0) => l,
            (0, t) => t,
            (l, t) => l.min(t),
        });
    };
    if total == 0 {
        return Err("refresh refused: the policy allows no renewal (renew=no)".into());
    }
    let end = granted + Duration::from_secs(u64::from(total));
    let left = end.duration_since(now).map_or(0, |d| d.as_secs());
    if left == 0 {
        return Err(format!(
            "refresh refused: the policy's renewal limit ({total} s after the first grant) is reached"
        ));
    }
    let left = u32::try_from(left).unwrap_or(u32::MAX);
    Ok(if lifetime == 0 {
        left
    } else {
        lifetime.min(left)
    })
}

/// `*` matches any run of characters (also none); everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*` at all: exact match.
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = rest.get(i + m.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.ends_with(last)
}

const RIGHT_NAMES: [(&str, u8); 6] = [
    ("read", rights::READ),
    ("write", rights::WRITE),
    ("execute", rights::EXECUTE),
    ("delete", rights::DELETE),
    ("create", rights::CREATE),
    ("discover", rights::DISCOVER),
];

/// Parses `all`, a number (decimal or `0x` hex) or names joined by `,` / `+`.
pub fn parse_rights(s: &str) -> Option<u8> {
    let v = if s == "all" {
        rights::ALL
    } else if let Some(h) = s.strip_prefix("0x") {
        u8::from_str_radix(h, 16).ok()?
    } else if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()?
    } else {
        s.split([',', '+']).try_fold(0u8, |acc, n| {
            RIGHT_NAMES
                .iter()
                .find(|(name, _)| *name == n)
                .map(|(_, b)| acc | b)
        })?
    };
    (v != 0 && v & !rights::ALL == 0).then_some(v)
}

/// Rights as names joined by `+` (`read+discover`).
pub fn rights_text(r: u8) -> String {
    let names: Vec<&str> = RIGHT_NAMES
        .iter()
        .filter(|(_, b)| r & b != 0)
        .map(|(n, _)| *n)
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join("+")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(path: Path, rights: u8) -> Grant {
        Grant { path, rights }
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("*", "anything"));
        assert!(glob("lamp-*", "lamp-1"));
        assert!(!glob("lamp-*", "xlamp-1"));
        assert!(glob("*-1", "lamp-1"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXcYYb"));
        assert!(glob("node", "node"));
        assert!(!glob("node", "node2"));
        assert!(glob("a**", "a"));
        // The suffix must not overlap the prefix.
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn rights_names_and_numbers() {
        assert_eq!(parse_rights("all"), Some(0x3f));
        assert_eq!(parse_rights("read,write"), Some(3));
        assert_eq!(parse_rights("read+discover"), Some(0x21));
        assert_eq!(parse_rights("0x21"), Some(0x21));
        assert_eq!(parse_rights("33"), Some(0x21));
        assert_eq!(parse_rights("0"), None);
        assert_eq!(parse_rights("64"), None);
        assert_eq!(parse_rights("reed"), None);
        assert_eq!(rights_text(0x21), "read+discover");
    }

    #[test]
    fn parse_errors_carry_line_numbers() {
        let text = "# c\nallow requester=a\n\nallow host=b path=/x\n";
        assert_eq!(
            Policy::parse(text).unwrap_err(),
            PolicyError {
                line: 4,
                message: "bad path \"/x\" (use /, /O or /O/I)".into()
            }
        );
        assert_eq!(Policy::parse("permit").unwrap_err().line, 1);
        assert_eq!(Policy::parse("\nallow rights=foo").unwrap_err().line, 2);
        assert_eq!(Policy::parse("deny lifetime=5").unwrap_err().line, 1);
        assert_eq!(Policy::parse("allow host=a host=b").unwrap_err().line, 1);
        assert_eq!(Policy::parse("allow path=/1/2/3").unwrap_err().line, 1);
        assert_eq!(Policy::parse("allow lifetime=x").unwrap_err().line, 1);
        assert_eq!(Policy::parse("allow lifetime=0").unwrap_err().line, 1);
        assert_eq!(Policy::parse("allow bogus=1").unwrap_err().line, 1);
    }

    #[test]
    fn first_match_wins_and_default_deny() {
        let p = Policy::parse(
            "deny requester=evil host=* \n\
             allow requester=sw-* host=lamp-* path=/3311 rights=read,write lifetime=600 # x\n\
             deny host=lamp-* path=/3311/1 rights=write\n\
             allow path=/3311 rights=read lifetime=60\n",
        )
        .unwrap();
        assert_eq!(p.rules.len(), 4);
        let rw = g(Path::instance(3311, 1), rights::READ | rights::WRITE);
        assert_eq!(
            p.decide("sw-1", "lamp-1", &[rw]),
            Decision::Allow {
                max_lifetime: Some(600),
                renew: None
            }
        );
        // Not a sw-*: rule 2 does not apply, rule 3 denies the write.
        assert!(matches!(
            p.decide("other", "lamp-1", &[rw]),
            Decision::Deny { reason } if reason.contains("line 3")
        ));
        // Read only: rule 4, with its lifetime.
        assert_eq!(
            p.decide(
                "other",
                "lamp-1",
                &[g(Path::instance(3311, 1), rights::READ)]
            ),
            Decision::Allow {
                max_lifetime: Some(60),
                renew: None
            }
        );
        // Rights beyond the allow rule's mask do not match it: default deny.
        assert!(matches!(
            p.decide("other", "x", &[g(Path::object(3311), rights::CREATE)]),
            Decision::Deny { reason } if reason.contains("default deny")
        ));
        assert!(matches!(
            p.decide("evil", "lamp-1", &[g(Path::instance(3311, 0), rights::READ)]),
            Decision::Deny { reason } if reason.contains("line 1")
        ));
        // All grants must pass; lifetimes take the minimum.
        let two = [
            g(Path::instance(3311, 0), rights::READ),
            g(Path::instance(3311, 1), rights::WRITE),
        ];
        assert_eq!(
            p.decide("sw-2", "lamp-1", &two),
            Decision::Allow {
                max_lifetime: Some(600),
                renew: None
            }
        );
        assert!(matches!(
            p.decide("zz", "lamp-1", &two),
            Decision::Deny { .. }
        ));
        assert!(matches!(
            Policy::default().decide("a", "b", &[g(Path::object(3), 1)]),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn protected_objects_are_never_granted() {
        let p = Policy::parse("allow").unwrap();
        for o in PROTECTED_OBJECTS {
            assert!(matches!(
                p.decide("a", "b", &[g(Path::instance(o, 0), rights::READ)]),
                Decision::Deny { .. }
            ));
        }
        assert_eq!(
            p.decide("a", "b", &[g(Path::instance(3, 0), rights::READ)]),
            Decision::Allow {
                max_lifetime: None,
                renew: None
            }
        );
    }

    #[test]
    fn rule_lines_round_trip() {
        let p =
            Policy::parse("allow requester=a* host=b path=/3/0 rights=read lifetime=9").unwrap();
        let again = Policy::parse(&p.rules[0].to_line()).unwrap();
        assert_eq!(again.rules[0].to_line(), p.rules[0].to_line());
        assert_eq!(
            p.rules[0].to_line(),
            "allow requester=a* host=b path=/3/0 rights=read lifetime=9"
        );
    }

    #[test]
    fn renew_bounds_parse_decide_and_print() {
        let p = Policy::parse(
            "allow host=a path=/3303 rights=read lifetime=5 renew=12\n\
             allow host=a path=/3311 rights=read lifetime=9 renew=no\n\
             allow host=b lifetime=7\n",
        )
        .unwrap();
        let g = |path| Grant {
            path,
            rights: rights::READ,
        };
        assert_eq!(
            p.decide("r", "a", &[g(Path::object(3303))]),
            Decision::Allow {
                max_lifetime: Some(5),
                renew: Some(12)
            }
        );
        // Several grants: the smallest bound of each kind.
        assert_eq!(
            p.decide("r", "a", &[g(Path::object(3303)), g(Path::object(3311))]),
            Decision::Allow {
                max_lifetime: Some(5),
                renew: Some(0)
            }
        );
        assert_eq!(
            p.decide("r", "b", &[g(Path::object(3303))]),
            Decision::Allow {
                max_lifetime: Some(7),
                renew: None
            }
        );
        assert!(p.rules[0].to_line().ends_with("lifetime=5 renew=12"));
        assert!(p.rules[1].to_line().ends_with("lifetime=9 renew=no"));
        assert_eq!(
            Policy::parse(&p.rules[1].to_line()).unwrap().rules[0].renew,
            Some(0)
        );
        assert_eq!(Policy::parse("deny renew=5").unwrap_err().line, 1);
        assert_eq!(Policy::parse("allow renew=x").unwrap_err().line, 1);
        assert_eq!(Policy::parse("allow renew=-1").unwrap_err().line, 1);
    }

    #[test]
    fn renewal_bounds() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |s| t0 + Duration::from_secs(s);
        // No bound: the grant's lifetime, first grant or refresh.
        assert_eq!(bounded_lifetime(5, None, None, t0), Ok(5));
        assert_eq!(bounded_lifetime(5, None, Some(t0), at(999)), Ok(5));
        // First grant: at most the bound (forever becomes the bound).
        assert_eq!(bounded_lifetime(5, Some(12), None, t0), Ok(5));
        assert_eq!(bounded_lifetime(60, Some(12), None, t0), Ok(12));
        assert_eq!(bounded_lifetime(0, Some(12), None, t0), Ok(12));
        assert_eq!(bounded_lifetime(5, Some(0), None, t0), Ok(5));
        // Refreshes: cut to what is left, refused at the end or with renew=no.
        assert_eq!(bounded_lifetime(5, Some(12), Some(t0), at(4)), Ok(5));
        assert_eq!(bounded_lifetime(5, Some(12), Some(t0), at(9)), Ok(3));
        assert!(bounded_lifetime(5, Some(12), Some(t0), at(12)).is_err());
        assert!(bounded_lifetime(5, Some(12), Some(t0), at(30)).is_err());
        assert!(bounded_lifetime(5, Some(0), Some(t0), t0).is_err());
    }
}
