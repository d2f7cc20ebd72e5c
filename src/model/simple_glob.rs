//! Matching the common shapes of access globs without building a regex: literal paths
//! (`agents/registry.yaml`), directories (`tests/**`), names and extensions at any depth
//! (`**/CHANGELOG.md`, `**/*.test.*`), one level of wildcards (`schema/*.sql`,
//! `agents/*/.claude/**`).
//!
//! [`SimpleGlob::parse`] accepts a glob made of `/`-separated segments, each either `**` (not
//! twice in a row) or literal characters with `*` and `?`; anything else (classes `[…]`,
//! alternates `{…}`, escapes, empty segments, `**` inside a segment) is left to globset. An
//! accepted glob matches exactly what globset matches with the options access patterns use
//! (`literal_separator`): the same regex, `(?-u)^…$` over bytes with `.` matching newlines, where
//! `*` is `[^/]*`, `?` is `[^/]`, a leading `**/` is `(?:/?|.*/)`, a trailing `/**` is `/.*`, an
//! inner `/**/` is `(?:/|/.*/)` and `**` alone is `.*`. The matcher runs that regex as a set of
//! reachable positions (no backtracking: time linear in the path for each token). The property
//! tests in `model::pattern` compare it with globset on random globs and paths.

/// One piece of a simple glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// Literal bytes.
    Lit(Box<[u8]>),
    /// `?`: one byte other than `/`.
    Any,
    /// `*`: any bytes other than `/`.
    Star,
    /// A leading `**/`: nothing, a `/`, or anything ending in `/`.
    RecPrefix,
    /// A trailing `/**`: a `/`, then anything.
    RecSuffix,
    /// An inner `/**/`: a `/`, or a `/`, anything, and a `/`.
    RecMiddle,
    /// `**` alone: anything.
    All,
}

/// A glob in one of the common shapes, compiled for matching without a regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleGlob {
    toks: Vec<Tok>,
}

impl SimpleGlob {
    /// The glob as a simple glob, or `None` if it is not one (globset must match it). An
    /// accepted glob always compiles in globset.
    pub fn parse(glob: &str) -> Option<SimpleGlob> {
        let bytes = glob.as_bytes();
        if bytes
            .iter()
            .any(|c| matches!(c, b'[' | b']' | b'{' | b'}' | b'\\'))
        {
            return None;
        }
        if glob == "**" {
            return Some(SimpleGlob {
                toks: vec![Tok::All],
            });
        }
        let last = bytes.iter().filter(|&&c| c == b'/').count();
        let mut toks = Vec::new();
        let mut lit: Vec<u8> = Vec::new();
        let flush = |lit: &mut Vec<u8>, toks: &mut Vec<Tok>| {
            if !lit.is_empty() {
                toks.push(Tok::Lit(std::mem::take(lit).into_boxed_slice()));
            }
        };
        let mut after_recursive = false;
        for (i, seg) in glob.split('/').enumerate() {
            let seg = seg.as_bytes();
            if seg.is_empty() {
                return None;
            }
            if seg == b"**" {
                if after_recursive {
                    return None;
                }
                after_recursive = true;
                flush(&mut lit, &mut toks);
                toks.push(if i == 0 {
                    Tok::RecPrefix
                } else if i == last {
                    Tok::RecSuffix
                } else {
                    Tok::RecMiddle
                });
                continue;
            }
            if seg.windows(2).any(|w| w == b"**") {
                return None;
            }
            // The separator before this segment, unless a `**` segment already stands for it.
            if i > 0 && !after_recursive {
                lit.push(b'/');
            }
            after_recursive = false;
            // Bytes of a multi-byte character are never `*` or `?`: copying bytes copies it.
            for &c in seg {
                match c {
                    b'*' => {
                        flush(&mut lit, &mut toks);
                        toks.push(Tok::Star);
                    }
                    b'?' => {
                        flush(&mut lit, &mut toks);
                        toks.push(Tok::Any);
                    }
                    c => lit.push(c),
                }
            }
        }
        flush(&mut lit, &mut toks);
        Some(SimpleGlob { toks })
    }

    /// True if `path` matches the glob (as globset would say).
    pub fn is_match(&self, path: &str) -> bool {
        let s = path.as_bytes();
        // Cheap necessary conditions first: a literal start or end.
        if let Some(Tok::Lit(l)) = self.toks.first()
            && !s.starts_with(l)
        {
            return false;
        }
        if let Some(Tok::Lit(l)) = self.toks.last()
            && !s.ends_with(l)
        {
            return false;
        }
        let n = s.len();
        // reach[i]: the tokens so far can match exactly s[..i].
        let mut reach = vec![false; n + 1];
        let mut next = vec![false; n + 1];
        reach[0] = true;
        for tok in &self.toks {
            next.fill(false);
            let first = reach.iter().position(|&r| r);
            let Some(first) = first else {
                return false;
            };
            // The first reachable position followed by a `/`, for the `/…` tokens.
            let first_slash = || (first..n).find(|&i| reach[i] && s[i] == b'/');
            match tok {
                Tok::Lit(l) => {
                    for i in first..n.saturating_sub(l.len() - 1) {
                        if reach[i] && s[i..].starts_with(l) {
                            next[i + l.len()] = true;
                        }
                    }
                }
                Tok::Any => {
                    for i in first..n {
                        if reach[i] && s[i] != b'/' {
                            next[i + 1] = true;
                        }
                    }
                }
                Tok::Star => {
                    for i in first..=n {
                        next[i] = reach[i] || (i > 0 && next[i - 1] && s[i - 1] != b'/');
                    }
                }
                Tok::RecPrefix => {
                    // `(?:/?|.*/)`
                    for i in first..=n {
                        next[i] |= reach[i];
                        if i < n && reach[i] && s[i] == b'/' {
                            next[i + 1] = true;
                        }
                        if i > first && s[i - 1] == b'/' {
                            next[i] = true;
                        }
                    }
                }
                Tok::RecSuffix => {
                    // `/.*`
                    if let Some(m) = first_slash() {
                        next[m + 1..].fill(true);
                    }
                }
                Tok::RecMiddle => {
                    // `(?:/|/.*/)`
                    for i in first..n {
                        if reach[i] && s[i] == b'/' {
                            next[i + 1] = true;
                        }
                    }
                    if let Some(m) = first_slash() {
                        for j in m + 2..=n {
                            if s[j - 1] == b'/' {
                                next[j] = true;
                            }
                        }
                    }
                }
                Tok::All => next[first..].fill(true),
            }
            std::mem::swap(&mut reach, &mut next);
        }
        reach[n]
    }
}
