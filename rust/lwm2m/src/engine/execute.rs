//! Execute (POST on a resource), with the argument syntax of LwM2M 1.1 TS Core section 5.4.5:
//! `arg = digit [ "=" "'" *text "'" ]`, arguments separated by commas.

use super::access::Action;
use super::Engine;
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::objects::server;
use crate::path::Path;

/// Checks the Execute argument syntax.
pub(crate) fn valid_arguments(args: &[u8]) -> bool {
    if args.is_empty() {
        return true;
    }
    args.split(|&c| c == b',').all(|arg| match arg {
        [d] => d.is_ascii_digit(),
        [d, b'=', b'\'', rest @ .., b'\''] => {
            d.is_ascii_digit()
                && rest
                    .iter()
                    .all(|&c| c != b'\'' && (c == b'!' || (0x23..=0x7e).contains(&c) || c == b' '))
        }
        _ => false,
    })
}

impl Engine<'_> {
    /// Execute.
    pub(crate) fn execute(
        &mut self,
        caller: Caller,
        path: &Path,
        args: &[u8],
        now: u64,
    ) -> Result<()> {
        let [oid, inst, rid] = *path.ids() else {
            return Err(Error::MethodNotAllowed);
        };
        self.check_instance(caller, Action::Execute, oid, inst)?;
        let obj = self.object(oid).ok_or(Error::NotFound)?;
        let def = obj.def().resource(rid).ok_or(Error::NotFound)?;
        // Without the `bootstrap` feature nothing could act on the Bootstrap-Request Trigger.
        let bootstrap_trigger = oid == server::ID && rid == server::res::BOOTSTRAP_REQUEST_TRIGGER;
        if !def.ops.executable() || (bootstrap_trigger && cfg!(not(feature = "bootstrap"))) {
            return Err(Error::MethodNotAllowed);
        }
        if !valid_arguments(args) {
            return Err(Error::BadRequest);
        }
        self.object_mut(oid)
            .ok_or(Error::NotFound)?
            .execute(caller, inst, rid, args)?;
        #[cfg(feature = "c2c")]
        self.c2c_executed(oid, inst, rid, now);
        if oid == server::ID {
            let ssid = self
                .server
                .instances
                .get(inst)
                .map(|s| (s.ssid, s.disable_timeout));
            if let Some((ssid, timeout)) = ssid {
                match rid {
                    server::res::DISABLE => self.registration.disable(ssid, now, timeout),
                    server::res::REGISTRATION_UPDATE_TRIGGER => {
                        self.registration.request_update(ssid, false, now)
                    }
                    #[cfg(feature = "bootstrap")]
                    server::res::BOOTSTRAP_REQUEST_TRIGGER => self.bootstrap.schedule(now, 0),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::valid_arguments;

    #[test]
    fn argument_syntax() {
        for ok in [
            &b""[..],
            b"0",
            b"0,1",
            b"5='abc'",
            b"0='',1='x y'",
            b"2='http://a/b'",
        ] {
            assert!(valid_arguments(ok), "{:?}", core::str::from_utf8(ok));
        }
        for bad in [
            &b"a"[..],
            b"10",
            b"0=abc",
            b"0='a'b'",
            b"0,",
            b",0",
            b"0='abc",
        ] {
            assert!(!valid_arguments(bad), "{:?}", core::str::from_utf8(bad));
        }
    }
}
