//! The wire format between iw here and `iw remote probe|write` on a host: one JSON document on
//! the remote command's stdin, one on its stdout.
//!
//! File content travels as base64 (standard alphabet, padded), so any bytes round-trip. Every
//! document carries the protocol version [`VERSION`]; both ends are the same iw build (the binary
//! on the host is installed by hash), so a mismatch means a stale or foreign binary and is
//! refused rather than guessed at.

use serde::{Deserialize, Serialize};

use super::{Probe, Seen, WriteDone, WriteOp};
use crate::support::Error;

/// The protocol version of these documents.
pub const VERSION: u32 = 1;

/// `iw remote probe`'s input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRequest {
    /// [`VERSION`].
    pub v: u32,
    /// The files to look at.
    pub probes: Vec<Probe>,
}

/// `iw remote probe`'s output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeReply {
    /// [`VERSION`].
    pub v: u32,
    /// What was found, in the order of the probes (empty on error).
    pub seen: Vec<WireSeen>,
    /// Why the probe failed, when it did.
    pub error: Option<WireError>,
}

/// [`Seen`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireSeen {
    /// As in the probe.
    pub path: String,
    /// The file's SHA-256 (hex), `None` if there is no such regular file.
    pub sha256: Option<String>,
    /// Its permission bits.
    pub mode: Option<u32>,
    /// Its bytes (base64), only when they differ from what the probe wanted.
    #[serde(with = "b64")]
    pub content: Option<Vec<u8>>,
}

/// `iw remote write`'s input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteRequest {
    /// [`VERSION`].
    pub v: u32,
    /// The changes, applied in order.
    pub ops: Vec<WireOp>,
}

/// [`WriteOp`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireOp {
    /// Relative to the root.
    pub path: String,
    /// The new bytes (base64); `None` removes the file.
    #[serde(with = "b64")]
    pub content: Option<Vec<u8>>,
    /// Permission bits of a new file.
    pub mode: u32,
    /// No backup when the current file has this SHA-256.
    pub backup_unless_sha256: Option<String>,
}

/// `iw remote write`'s output: what was done, and the failure that stopped it, if one did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteReply {
    /// [`VERSION`].
    pub v: u32,
    /// One entry per op carried out, in order.
    pub done: Vec<WriteDone>,
    /// The failure of the op after the last one done.
    pub error: Option<WireError>,
}

/// An error on the wire: [`Error`]'s message and advice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireError {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl WireError {
    /// The message and advice of `e`.
    pub fn of(e: &Error) -> WireError {
        WireError {
            message: e.to_string(),
            help: e.diagnostics().into_iter().find_map(|d| d.help),
        }
    }

    /// Back to an [`Error`], the host named in front.
    pub fn into_error(self, host: &str) -> Error {
        let message = format!("host {host}: {}", self.message);
        match self.help {
            Some(h) => Error::with_help(message, h),
            None => Error::msg(message),
        }
    }
}

impl From<Seen> for WireSeen {
    fn from(s: Seen) -> WireSeen {
        WireSeen {
            path: s.path,
            sha256: s.sha256,
            mode: s.mode,
            content: s.content,
        }
    }
}

impl From<WireSeen> for Seen {
    fn from(s: WireSeen) -> Seen {
        Seen {
            path: s.path,
            sha256: s.sha256,
            mode: s.mode,
            content: s.content,
        }
    }
}

impl From<&WriteOp> for WireOp {
    fn from(o: &WriteOp) -> WireOp {
        WireOp {
            path: o.path.clone(),
            content: o.content.clone(),
            mode: o.mode,
            backup_unless_sha256: o.backup_unless_sha256.clone(),
        }
    }
}

impl From<WireOp> for WriteOp {
    fn from(o: WireOp) -> WriteOp {
        WriteOp {
            path: o.path,
            content: o.content,
            mode: o.mode,
            backup_unless_sha256: o.backup_unless_sha256,
        }
    }
}

/// `Option<Vec<u8>>` as an optional base64 string.
mod b64 {
    use data_encoding::BASE64;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_some(&BASE64.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => BASE64
                .decode(text.as_bytes())
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn content_is_base64_and_absent_content_is_null() {
        let op = WireOp {
            path: "a/b".into(),
            content: Some(vec![0, 255, b'\n', b'"']),
            mode: 0o600,
            backup_unless_sha256: None,
        };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            json,
            r#"{"path":"a/b","content":"AP8KIg==","mode":384,"backup_unless_sha256":null}"#
        );
        assert_eq!(serde_json::from_str::<WireOp>(&json).unwrap(), op);
        let rm = WireOp {
            content: None,
            ..op
        };
        let json = serde_json::to_string(&rm).unwrap();
        assert!(json.contains(r#""content":null"#), "{json}");
        assert_eq!(serde_json::from_str::<WireOp>(&json).unwrap(), rm);
    }

    #[test]
    fn bad_documents_are_refused() {
        // Not base64.
        let bad = r#"{"path":"a","content":"***","mode":420,"backup_unless_sha256":null}"#;
        assert!(serde_json::from_str::<WireOp>(bad).is_err());
        // A field this version does not know.
        let extra = r#"{"v":1,"probes":[],"more":1}"#;
        assert!(serde_json::from_str::<ProbeRequest>(extra).is_err());
    }

    #[test]
    fn errors_keep_their_advice_and_gain_the_host() {
        let w = WireError::of(&Error::with_help("it broke", "fix it"));
        assert_eq!(w.message, "it broke");
        assert_eq!(w.help.as_deref(), Some("fix it"));
        let e = w.into_error("gpu1");
        assert_eq!(e.to_string(), "host gpu1: it broke");
        assert_eq!(e.diagnostics()[0].help.as_deref(), Some("fix it"));
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                mode in 0u32..0o7777) {
            let op = WriteOp {
                path: "x".into(),
                content: Some(bytes),
                mode,
                backup_unless_sha256: Some("ab".into()),
            };
            let req = WriteRequest { v: VERSION, ops: vec![WireOp::from(&op)] };
            let text = serde_json::to_vec(&req).unwrap();
            let back: WriteRequest = serde_json::from_slice(&text).unwrap();
            prop_assert_eq!(WriteOp::from(back.ops[0].clone()), op);
        }
    }
}
