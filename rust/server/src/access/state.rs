//! The C2C state file (`--state FILE`): grants, pairs, ACL instances and the IDs handed out
//! per client, so that a restarted server can still list and revoke old grants and never
//! hands out a Short Client ID or instance ID that an installed account still uses.
//!
//! The file is JSON and holds **no secrets**: PSK keys and identities, OSCORE master secrets
//! and salts are never stored (the server forgets them once installed, see [`crate::access::c2c`]).
//! OSCORE Sender / Recipient IDs are stored: they travel in clear in every OSCORE message and
//! must stay unique per client.
//!
//! It is written on every change by writing a temporary file next to it, syncing it and
//! renaming it over the old one, so a crash leaves either the old or the new state. A file that
//! cannot be read or parsed stops the server at start ([`load`]); it is never silently
//! replaced by an empty state.
//!
//! ```json
//! {"version": 1, "next_grant": 2,
//!  "books": {"lamp": {"last_short": 1, "short_ids": {"1": "switch"},
//!                     "instances": {"11000": [1], "11001": [1], "11002": [0]},
//!                     "recipient_ids": []}},
//!  "pairs": [{"requester": "switch", "host": "lamp", "security": "psk", "lifetime": 3600,
//!             "renewed_ms": 1767225600000, "granted_ms": 1767225600000,
//!             "expires_at": 1767229200,
//!             "at_host": {"short_id": 1, "client_instance": 1, "security_instance": 1},
//!             "at_requester": {"short_id": 1, "client_instance": 0, "security_instance": 0}}],
//!  "acls": [{"host": "lamp", "path": "/3311/0", "instance": 0, "entries": {"1": 1}}],
//!  "grants": [{"id": 1, "requester": "switch", "host": "lamp", "path": "/3311/0",
//!              "rights": 1, "acl_instance": 0, "created": 1767225600}]}
//! ```
//!
//! `expires_at` (Unix seconds) is for the reader; the server computes expiry from
//! `renewed_ms` and `lifetime`; `granted_ms` is the pair's first grant, from which the
//! policy's `renew=` counts (absent in older files: `renewed_ms` is taken).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path as FsPath;
use std::time::{Duration, SystemTime};

use lwm2m::Path;
use serde_json::{json, Map, Value as Json};

use crate::access::c2c::{
    self, Account, AclInstance, Book, C2cState, GrantInfo, Pair, SecurityMode,
};
use crate::dm::values::hex;

/// Format version written to and expected in the file.
pub const VERSION: u64 = 1;

fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn account_json(a: &Account) -> Json {
    let mut j = json!({
        "short_id": a.short_id,
        "client_instance": a.client_instance,
        "security_instance": a.security_instance,
    });
    if let Some(o) = a.oscore_instance {
        j["oscore_instance"] = json!(o);
    }
    if let Some(r) = &a.recipient_id {
        j["recipient_id"] = json!(hex(r));
    }
    j
}

/// The JSON form of the state (no secrets: the state holds none).
pub fn to_json(st: &C2cState) -> Json {
    let books: Map<String, Json> = st
        .books
        .iter()
        .map(|(ep, b)| {
            let short: Map<String, Json> = b
                .short_ids
                .iter()
                .map(|(id, peer)| (id.to_string(), json!(peer)))
                .collect();
            let inst: Map<String, Json> = b
                .instances
                .iter()
                .map(|(o, s)| (o.to_string(), json!(s.iter().collect::<Vec<_>>())))
                .collect();
            let rids: Vec<String> = b.recipient_ids.iter().map(|r| hex(r)).collect();
            (
                ep.clone(),
                json!({
                    "last_short": b.last_short,
                    "short_ids": short,
                    "instances": inst,
                    "recipient_ids": rids,
                }),
            )
        })
        .collect();
    let pairs: Vec<Json> = st
        .pairs
        .values()
        .map(|p| {
            let mut j = json!({
                "requester": p.requester,
                "host": p.host,
                "security": p.security.name(),
                "lifetime": p.lifetime,
                "renewed_ms": millis(p.renewed),
                "granted_ms": millis(p.granted),
                "at_host": account_json(&p.at_host),
                "at_requester": account_json(&p.at_requester),
            });
            if let Some(e) = p.expires_at() {
                j["expires_at"] = json!(c2c::unix_secs(e));
            }
            j
        })
        .collect();
    let acls: Vec<Json> = st
        .acls
        .iter()
        .map(|((host, path), a)| {
            let entries: Map<String, Json> = a
                .entries
                .iter()
                .map(|(s, r)| (s.to_string(), json!(r)))
                .collect();
            json!({"host": host, "path": path.to_string(), "instance": a.instance,
                   "entries": entries})
        })
        .collect();
    let grants: Vec<Json> = st
        .grants
        .values()
        .map(|g| {
            json!({
                "id": g.id,
                "requester": g.requester,
                "host": g.host,
                "path": g.path.to_string(),
                "rights": g.rights,
                "acl_instance": g.acl_instance,
                "created": c2c::unix_secs(g.created),
            })
        })
        .collect();
    json!({
        "version": VERSION,
        "next_grant": st.next_grant,
        "books": books,
        "pairs": pairs,
        "acls": acls,
        "grants": grants,
    })
}

type R<T> = Result<T, String>;

fn field<'a>(j: &'a Json, k: &str, ctx: &str) -> R<&'a Json> {
    j.get(k).ok_or_else(|| format!("{ctx}: missing {k:?}"))
}

fn uint(j: &Json, k: &str, ctx: &str) -> R<u64> {
    field(j, k, ctx)?
        .as_u64()
        .ok_or_else(|| format!("{ctx}: {k:?} is not an unsigned integer"))
}

fn small<T: TryFrom<u64>>(v: u64, what: &str, ctx: &str) -> R<T> {
    T::try_from(v).map_err(|_| format!("{ctx}: {what} {v} out of range"))
}

fn u16_of(j: &Json, k: &str, ctx: &str) -> R<u16> {
    small(uint(j, k, ctx)?, k, ctx)
}

fn text(j: &Json, k: &str, ctx: &str) -> R<String> {
    field(j, k, ctx)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{ctx}: {k:?} is not a string"))
}

fn object<'a>(j: &'a Json, k: &str, ctx: &str) -> R<&'a Map<String, Json>> {
    field(j, k, ctx)?
        .as_object()
        .ok_or_else(|| format!("{ctx}: {k:?} is not an object"))
}

fn array<'a>(j: &'a Json, k: &str, ctx: &str) -> R<&'a Vec<Json>> {
    field(j, k, ctx)?
        .as_array()
        .ok_or_else(|| format!("{ctx}: {k:?} is not a list"))
}

fn key_u16(k: &str, ctx: &str) -> R<u16> {
    k.parse()
        .map_err(|_| format!("{ctx}: key {k:?} is not a 16-bit number"))
}

fn unhex(s: &str, ctx: &str) -> R<Vec<u8>> {
    crate::oscore::unhex(s).ok_or_else(|| format!("{ctx}: {s:?} is not hex"))
}

fn path(j: &Json, k: &str, ctx: &str) -> R<Path> {
    let s = text(j, k, ctx)?;
    let p = Path::parse_str(&s).map_err(|_| format!("{ctx}: bad path {s:?}"))?;
    match p.ids().len() {
        1 | 2 => Ok(p),
        _ => Err(format!("{ctx}: {s:?} is not /O or /O/I")),
    }
}

fn account(j: &Json, ctx: &str) -> R<Account> {
    let opt_u16 = |k: &str| -> R<Option<u16>> {
        match j.get(k) {
            None | Some(Json::Null) => Ok(None),
            Some(_) => u16_of(j, k, ctx).map(Some),
        }
    };
    let recipient_id = match j.get("recipient_id") {
        None | Some(Json::Null) => None,
        Some(_) => Some(unhex(&text(j, "recipient_id", ctx)?, ctx)?),
    };
    Ok(Account {
        short_id: u16_of(j, "short_id", ctx)?,
        client_instance: u16_of(j, "client_instance", ctx)?,
        security_instance: u16_of(j, "security_instance", ctx)?,
        oscore_instance: opt_u16("oscore_instance")?,
        recipient_id,
    })
}

fn book(ep: &str, j: &Json) -> R<Book> {
    let ctx = &format!("books.{ep}");
    let mut b = Book {
        last_short: u16_of(j, "last_short", ctx)?,
        ..Default::default()
    };
    for (k, v) in object(j, "short_ids", ctx)? {
        let peer = v
            .as_str()
            .ok_or_else(|| format!("{ctx}: short_ids.{k} is not a string"))?;
        b.short_ids.insert(key_u16(k, ctx)?, peer.to_owned());
    }
    for (k, v) in object(j, "instances", ctx)? {
        let ids = v
            .as_array()
            .ok_or_else(|| format!("{ctx}: instances.{k} is not a list"))?;
        let mut set = BTreeSet::new();
        for i in ids {
            let i = i
                .as_u64()
                .ok_or_else(|| format!("{ctx}: instances.{k} holds a non-number"))?;
            set.insert(small(i, "instance", ctx)?);
        }
        b.instances.insert(key_u16(k, ctx)?, set);
    }
    for r in array(j, "recipient_ids", ctx)? {
        let s = r
            .as_str()
            .ok_or_else(|| format!("{ctx}: recipient_ids holds a non-string"))?;
        b.recipient_ids.insert(unhex(s, ctx)?);
    }
    Ok(b)
}

fn pair(i: usize, j: &Json) -> R<Pair> {
    let ctx = &format!("pairs[{i}]");
    let security = text(j, "security", ctx)?;
    let renewed = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_millis(uint(j, "renewed_ms", ctx)?))
        .ok_or_else(|| format!("{ctx}: renewed_ms out of range"))?;
    // Files written before `renew=` existed have no granted_ms: count from the last renewal.
    let granted = match j.get("granted_ms") {
        None => renewed,
        Some(_) => SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_millis(uint(j, "granted_ms", ctx)?))
            .ok_or_else(|| format!("{ctx}: granted_ms out of range"))?,
    };
    Ok(Pair {
        requester: text(j, "requester", ctx)?,
        host: text(j, "host", ctx)?,
        at_host: account(field(j, "at_host", ctx)?, &format!("{ctx}.at_host"))?,
        at_requester: account(
            field(j, "at_requester", ctx)?,
            &format!("{ctx}.at_requester"),
        )?,
        security: SecurityMode::parse(&security)
            .ok_or_else(|| format!("{ctx}: unknown security {security:?}"))?,
        lifetime: small(uint(j, "lifetime", ctx)?, "lifetime", ctx)?,
        renewed,
        granted,
    })
}

fn acl(i: usize, j: &Json) -> R<(String, Path, AclInstance)> {
    let ctx = &format!("acls[{i}]");
    let mut entries = BTreeMap::new();
    for (k, v) in object(j, "entries", ctx)? {
        let r = v
            .as_u64()
            .ok_or_else(|| format!("{ctx}: entries.{k} is not a number"))?;
        entries.insert(key_u16(k, ctx)?, small(r, "rights", ctx)?);
    }
    Ok((
        text(j, "host", ctx)?,
        path(j, "path", ctx)?,
        AclInstance {
            instance: u16_of(j, "instance", ctx)?,
            entries,
        },
    ))
}

fn grant(i: usize, j: &Json) -> R<GrantInfo> {
    let ctx = &format!("grants[{i}]");
    Ok(GrantInfo {
        id: uint(j, "id", ctx)?,
        requester: text(j, "requester", ctx)?,
        host: text(j, "host", ctx)?,
        path: path(j, "path", ctx)?,
        rights: small(uint(j, "rights", ctx)?, "rights", ctx)?,
        acl_instance: u16_of(j, "acl_instance", ctx)?,
        created: SystemTime::UNIX_EPOCH + Duration::from_secs(uint(j, "created", ctx)?),
    })
}

/// Parses the JSON form. Every field is checked; the first problem is the error.
pub fn from_json(j: &Json) -> R<C2cState> {
    let v = uint(j, "version", "state")?;
    if v != VERSION {
        return Err(format!("state: version {v} is not {VERSION}"));
    }
    let mut st = C2cState {
        next_grant: uint(j, "next_grant", "state")?,
        ..Default::default()
    };
    for (ep, b) in object(j, "books", "state")? {
        st.books.insert(ep.clone(), book(ep, b)?);
    }
    for (i, p) in array(j, "pairs", "state")?.iter().enumerate() {
        let p = pair(i, p)?;
        st.pairs.insert((p.requester.clone(), p.host.clone()), p);
    }
    for (i, a) in array(j, "acls", "state")?.iter().enumerate() {
        let (host, path, a) = acl(i, a)?;
        st.acls.insert((host, path), a);
    }
    for (i, g) in array(j, "grants", "state")?.iter().enumerate() {
        let g = grant(i, g)?;
        if g.id > st.next_grant {
            return Err(format!("grants[{i}]: id {} above next_grant", g.id));
        }
        if !st
            .pairs
            .contains_key(&(g.requester.clone(), g.host.clone()))
        {
            return Err(format!("grants[{i}]: no pair for it"));
        }
        st.grants.insert(g.id, g);
    }
    Ok(st)
}

/// Reads the state file. `Ok(None)`: there is no file yet.
pub fn load(file: &FsPath) -> io::Result<Option<C2cState>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let j: Json = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    from_json(&j).map(Some).map_err(bad)
}

/// Writes the state file atomically (temporary file, sync, rename).
pub fn save(file: &FsPath, st: &C2cState) -> io::Result<()> {
    let mut name = file.as_os_str().to_owned();
    name.push(".tmp");
    let tmp = std::path::PathBuf::from(name);
    let body = serde_json::to_vec_pretty(&to_json(st)).map_err(io::Error::other)?;
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&body)?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> C2cState {
        let mut st = C2cState::default();
        let mut b = Book::default();
        assert_eq!(b.alloc_short("switch"), Some(1));
        assert_eq!(b.alloc_instance(11001, &[0]), Some(1));
        b.recipient_ids.insert(vec![0xa5]);
        st.books.insert("lamp".into(), b);
        let acc = Account {
            short_id: 1,
            client_instance: 1,
            security_instance: 1,
            oscore_instance: Some(0),
            recipient_id: Some(vec![0xa5]),
        };
        st.pairs.insert(
            ("switch".into(), "lamp".into()),
            Pair {
                requester: "switch".into(),
                host: "lamp".into(),
                at_host: acc.clone(),
                at_requester: Account {
                    recipient_id: None,
                    oscore_instance: None,
                    ..acc
                },
                security: SecurityMode::Oscore,
                lifetime: 60,
                renewed: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
                granted: SystemTime::UNIX_EPOCH + Duration::from_millis(1_699_999_999_000),
            },
        );
        st.acls.insert(
            ("lamp".into(), Path::instance(3311, 0)),
            AclInstance {
                instance: 0,
                entries: BTreeMap::from([(1, 3)]),
            },
        );
        let id = st.next_grant_id();
        st.grants.insert(
            id,
            GrantInfo {
                id,
                requester: "switch".into(),
                host: "lamp".into(),
                path: Path::instance(3311, 0),
                rights: 3,
                acl_instance: 0,
                created: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            },
        );
        st
    }

    #[test]
    fn round_trip() {
        let st = sample();
        let back = from_json(&to_json(&st)).unwrap();
        assert_eq!(back.pairs, st.pairs);
        assert_eq!(back.acls, st.acls);
        assert_eq!(back.grants, st.grants);
        assert_eq!(back.next_grant, 1);
        let (a, b) = (&back.books["lamp"], &st.books["lamp"]);
        assert_eq!(
            (&a.short_ids, a.last_short, &a.instances, &a.recipient_ids),
            (&b.short_ids, b.last_short, &b.instances, &b.recipient_ids)
        );
    }

    #[test]
    fn broken_documents_are_errors() {
        let good = to_json(&sample());
        let mut cases: Vec<Json> = vec![json!(null), json!([]), json!({"version": 1})];
        for (k, v) in [
            ("version", json!(2)),
            ("next_grant", json!(-1)),
            ("books", json!([])),
            ("pairs", json!({})),
            ("grants", json!([{"id": 9}])),
        ] {
            let mut j = good.clone();
            j[k] = v;
            cases.push(j);
        }
        let mut j = good.clone();
        j["pairs"][0]["at_host"]["short_id"] = json!(70000);
        cases.push(j);
        let mut j = good.clone();
        j["acls"][0]["path"] = json!("/3311/0/1");
        cases.push(j);
        let mut j = good.clone();
        j["books"]["lamp"]["recipient_ids"] = json!(["zz"]);
        cases.push(j);
        let mut j = good.clone();
        j["next_grant"] = json!(0);
        cases.push(j);
        for c in cases {
            assert!(from_json(&c).is_err(), "{c}");
        }
    }
}
