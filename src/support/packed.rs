//! Generated text held compressed between rendering and writing. A team's generated files are
//! nearly alike (10 000 agents: 125 MB, three files each, from three templates), and a plan holds
//! all of them from rendering until apply writes them. Each is kept LZ4-compressed against a
//! reference text of its kind (the first one rendered): 10–25× smaller for settings.json and the
//! policy, 4× for CLAUDE.md, at about 1 GB/s to pack and 5 GB/s to unpack (docs/PERFORMANCE.md).

use std::sync::{Arc, OnceLock};

/// A text, compressed, with its hash. Cloning shares it. Equal when the texts are equal (their
/// hashes are).
#[derive(Clone)]
pub struct Packed {
    /// The text's length in bytes.
    len: usize,
    /// The text's SHA-256.
    sha256: [u8; 32],
    /// An LZ4 block.
    bytes: Arc<[u8]>,
    /// The text it was compressed against (LZ4's dictionary); empty for none.
    reference: Arc<str>,
}

thread_local! {
    /// Room to compress into and to unpack into, kept per thread: a large team's thousands of
    /// files would otherwise each take and give back a buffer of their size.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// `f` with the calling thread's scratch buffer, at least `len` bytes long (a new one if `f`
/// itself asks for it). The buffer never shrinks: it is zeroed only where it grows.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = SCRATCH.take();
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let r = f(&mut buf);
    SCRATCH.set(buf);
    r
}

impl Packed {
    /// `text`, compressed against `reference` (a text like it, shared by many).
    pub fn new(text: &str, reference: &Arc<str>) -> Packed {
        let room = lz4_flex::block::get_maximum_output_size(text.len());
        let bytes = with_scratch(room, |buf| {
            let n = lz4_flex::block::compress_into_with_dict(
                text.as_bytes(),
                buf,
                reference.as_bytes(),
            )
            .expect("room for the largest output");
            Arc::from(&buf[..n])
        });
        Packed {
            len: text.len(),
            sha256: crate::support::fsutil::sha256(text.as_bytes()),
            bytes,
            reference: reference.clone(),
        }
    }

    /// `f` of the text, unpacked into a buffer the thread keeps.
    pub fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        with_scratch(self.len, |buf| {
            let n = lz4_flex::block::decompress_into_with_dict(
                &self.bytes,
                buf,
                self.reference.as_bytes(),
            )
            .expect("iw's own LZ4 block");
            f(std::str::from_utf8(&buf[..n]).expect("packed from a str"))
        })
    }

    /// The text.
    pub fn unpack(&self) -> String {
        self.with_text(str::to_string)
    }

    /// Whether the text is `other`, byte for byte.
    pub fn is(&self, other: &[u8]) -> bool {
        other.len() == self.len && self.with_text(|t| t.as_bytes() == other)
    }

    /// The text's SHA-256, in hex: taken from the text when it was packed.
    pub fn sha256_hex(&self) -> String {
        crate::support::fsutil::hex(&self.sha256)
    }

    /// The text's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held for the text (shared ones not counted).
    pub fn packed_len(&self) -> usize {
        self.bytes.len()
    }
}

impl From<&str> for Packed {
    /// `text`, compressed on its own.
    fn from(text: &str) -> Packed {
        Packed::new(text, &Arc::from(""))
    }
}

impl PartialEq for Packed {
    fn eq(&self, other: &Packed) -> bool {
        self.len == other.len && self.sha256 == other.sha256
    }
}

impl Eq for Packed {}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.unpack(), f)
    }
}

/// The reference text of each kind of file, set by the first text of that kind packed: what
/// the rest of its kind is compressed against. Shared by the threads that render.
#[derive(Debug, Default)]
pub struct References {
    kinds: OnceLock<Box<[OnceLock<Arc<str>>]>>,
}

impl References {
    /// `text`, of kind `kind` (below `kinds`), packed against its kind's reference (`text` itself
    /// if it is the first of its kind).
    pub fn pack(&self, kinds: usize, kind: usize, text: &str) -> Packed {
        let slots = self
            .kinds
            .get_or_init(|| (0..kinds).map(|_| OnceLock::new()).collect());
        match slots.get(kind) {
            Some(slot) => Packed::new(text, slot.get_or_init(|| Arc::from(text))),
            None => Packed::from(text),
        }
    }
}

impl Clone for References {
    /// A new, empty set: references are taken from what is rendered with them.
    fn clone(&self) -> References {
        References::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_unpacks_to_itself_against_any_reference() {
        let texts = [
            "",
            "x",
            "{\n  \"a\": 1\n}\n",
            "ünïcödé — ✓ \u{1F600}\n",
            &"line of text\n".repeat(5000),
        ];
        for reference in ["", "line of", "{\n  \"a\": 2\n}\n", &"other\n".repeat(9000)] {
            let reference = Arc::from(reference);
            for t in texts {
                let p = Packed::new(t, &reference);
                assert_eq!(p.unpack(), t);
                assert_eq!(p.len(), t.len());
                assert_eq!(
                    p.sha256_hex(),
                    crate::support::fsutil::sha256_hex(t.as_bytes())
                );
                // Unpacked again while unpacked (the scratch buffer is taken).
                assert!(p.with_text(|a| p.with_text(|b| a == t && b == t)));
                assert!(p.is(t.as_bytes()));
                assert!(!p.is(format!("{t}.").as_bytes()));
            }
        }
    }

    #[test]
    fn texts_like_the_reference_take_little_room() {
        let refs = References::default();
        let first = "{\n  \"deny\": [\n".to_string() + &"    \"Tool\",\n".repeat(400) + "  ]\n}\n";
        let second = first.replace("Tool\"", "Tool2\"");
        let a = refs.pack(2, 1, &first);
        let b = refs.pack(2, 1, &second);
        assert_eq!((a.unpack(), b.unpack()), (first.clone(), second.clone()));
        assert!(b.packed_len() * 10 < second.len(), "{}", b.packed_len());
        // Another kind has its own reference; a kind out of range is packed on its own.
        assert_eq!(refs.pack(2, 0, "abc").unpack(), "abc");
        assert_eq!(refs.pack(2, 7, "abc").unpack(), "abc");
    }

    #[test]
    fn equal_texts_are_equal_whatever_they_were_packed_against() {
        let a = Packed::new("same text\n", &Arc::from("same"));
        let b = Packed::from("same text\n");
        assert_eq!(a, b);
        assert_ne!(a, Packed::from("other text\n"));
        assert_eq!(format!("{a:?}"), "\"same text\\n\"");
    }
}
