//! Access control (LwM2M 1.1 TS Core section 7.3 and Appendix E.3), enforced on every DM
//! operation. Wakaama does not enforce ACLs; here they are checked before any object is touched.
//!
//! Rules, in order:
//! - the bootstrap server and the firmware itself may do anything;
//! - Security (0) and OSCORE (21) are never reachable by DM servers;
//! - Access Control (2) instances may be read by any server and changed only by their owner;
//! - a server always reaches its own Server (1) instance;
//! - with a single DM server account, that server has full access (no ACL needed);
//! - Create needs the C bit in the object-level instance (Object Instance ID 65535);
//! - otherwise the ACL instance of the target instance decides: the server's own ACL entry,
//!   else all rights but Create for the Access Control Owner, else the default entry (ID 0).
//!   No ACL instance means no access.
//! - with `c2c`: requesting clients are checked against Client Access Control (11002), and
//!   servers' access to the C2C objects follows the rules in `engine::c2c`.

use super::Engine;
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::objects::access_control::rights;
use crate::path::ID_NONE;

/// An operation class, mapped onto ACL bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// Without `write` nothing checks Write or Create rights; the ACL bits stay as they are.
#[cfg_attr(not(feature = "write"), allow(dead_code))]
pub(crate) enum Action {
    /// Read, Observe, Discover, Write-Attributes.
    Read,
    /// Write (replace, partial update, composite).
    Write,
    /// Execute.
    Execute,
    /// Delete.
    Delete,
    /// Create (object level).
    Create,
    /// Discover: Read rights for servers, the Discover flag for clients.
    #[cfg(feature = "c2c")]
    Discover,
}

/// The action Discover is checked as.
#[cfg(all(feature = "c2c", feature = "discover"))]
pub(crate) const DISCOVER: Action = Action::Discover;
/// The action Discover is checked as.
#[cfg(all(not(feature = "c2c"), feature = "discover"))]
pub(crate) const DISCOVER: Action = Action::Read;

impl Action {
    pub(crate) fn bit(self) -> u16 {
        match self {
            Action::Read => rights::READ,
            #[cfg(feature = "c2c")]
            Action::Discover => rights::READ,
            Action::Write => rights::WRITE,
            Action::Execute => rights::EXECUTE,
            Action::Delete => rights::DELETE,
            Action::Create => rights::CREATE,
        }
    }
}

impl Engine<'_> {
    /// Checks whether `caller` may perform `action` on `/obj` (`inst` = None: object level,
    /// where per-instance filtering happens later) or `/obj/inst`.
    pub(crate) fn allowed(
        &self,
        caller: Caller,
        action: Action,
        obj: u16,
        inst: Option<u16>,
    ) -> Result<()> {
        let ssid = match caller {
            Caller::Local | Caller::Bootstrap => return Ok(()),
            #[cfg(feature = "c2c")]
            Caller::Client(cid) => return self.client_allowed(cid, action, obj, inst),
            #[cfg(not(feature = "c2c"))]
            Caller::Client(_) => return Err(Error::Unauthorized),
            Caller::Server(ssid) => ssid,
        };
        #[cfg(feature = "c2c")]
        if let Some(r) = self.c2c_server_access(ssid, action, obj, inst) {
            return r;
        }
        match obj {
            0 | 21 => return Err(Error::Unauthorized),
            2 => {
                return match (action, inst) {
                    (Action::Read, _) => Ok(()),
                    #[cfg(feature = "c2c")]
                    (Action::Discover, _) => Ok(()),
                    (Action::Write, Some(i)) | (Action::Delete, Some(i)) => {
                        match self.acl.instances.get(i) {
                            Some(a) if a.owner == ssid => Ok(()),
                            Some(_) => Err(Error::Unauthorized),
                            None => Err(Error::NotFound),
                        }
                    }
                    _ => Err(Error::MethodNotAllowed),
                };
            }
            1 => {
                if let Some(i) = inst {
                    let own = self.server.instances.get(i).is_some_and(|s| s.ssid == ssid);
                    if own && action != Action::Delete {
                        return Ok(());
                    }
                }
            }
            _ => {}
        }
        if self.server.instances.len() <= 1 {
            return Ok(());
        }
        let target = match (action, inst) {
            (Action::Create, _) => ID_NONE,
            (_, None) => return Ok(()),
            (_, Some(i)) => i,
        };
        let granted = self.acl.find(obj, target).and_then(|a| {
            a.entry(ssid)
                .or((a.owner == ssid).then_some(rights::OWNER))
                .or(a.entry(0))
        });
        match granted {
            Some(r) if r & action.bit() != 0 => Ok(()),
            _ => Err(Error::Unauthorized),
        }
    }

    /// Existence, then access check of an operation on `/obj/inst`: a missing instance is 4.04
    /// (whoever asks), except in the objects a DM server can never reach (4.01).
    pub(crate) fn check_instance(
        &self,
        caller: Caller,
        action: Action,
        obj: u16,
        inst: u16,
    ) -> Result<()> {
        let allowed = self.allowed(caller, action, obj, Some(inst));
        // A requesting client learns nothing about what it may not reach (T0).
        #[cfg(feature = "c2c")]
        if matches!(caller, Caller::Client(_)) {
            allowed?;
        }
        let o = self.object(obj).ok_or(Error::NotFound)?;
        if o.has_instance(inst) {
            return allowed;
        }
        match allowed {
            Err(Error::Unauthorized) if matches!(obj, 0 | 21) => Err(Error::Unauthorized),
            _ => Err(Error::NotFound),
        }
    }

    /// True if `caller` may read `/obj/inst` (used to filter object-level reads).
    pub(crate) fn can_read(&self, caller: Caller, obj: u16, inst: u16) -> bool {
        self.allowed(caller, Action::Read, obj, Some(inst)).is_ok()
    }
}
