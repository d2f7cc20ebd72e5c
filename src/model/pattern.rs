//! Access patterns: the registry's `cannot_access` / `exclusive_access` globs, with gitignore meaning.
//!
//! - A pattern without a `/` (other than a trailing one) matches at any depth: `*.test.*` is
//!   `**/*.test.*`.
//! - A pattern with a `/` at the start or in the middle is anchored at the project root: `tests/**`
//!   matches `tests/a.py` but not `src/tests/a.py`; a leading `/` only anchors.
//! - A trailing `/` means "this directory and everything below it".
//! - A pattern that matches a directory also covers everything below it (`tests` covers
//!   `tests/a.py`), as in git.
//!
//! Patterns are matched against paths made relative to the project root and normalised
//! (`..` resolved, no `./`), never against raw strings.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// One parsed access pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPattern {
    /// The pattern as written in the registry.
    pub source: String,
    /// The root-relative glob it means, e.g. `**/*.test.*` or `tests/**`.
    pub glob: String,
}

impl AccessPattern {
    /// Parses a registry pattern, or says why it is not valid.
    pub fn parse(source: &str) -> Result<AccessPattern, String> {
        let trimmed = source.trim();
        if trimmed.is_empty() {
            return Err("an access pattern cannot be empty".into());
        }
        if trimmed != source {
            return Err("an access pattern cannot start or end with spaces".into());
        }
        if source.starts_with('!') {
            return Err("negated patterns (`!…`) are not supported: list what is forbidden".into());
        }
        if source.starts_with('~') {
            return Err(
                "patterns are relative to the project root; `~` (home) is not supported".into(),
            );
        }
        let mut rest = source;
        let mut anchored = false;
        if let Some(r) = rest.strip_prefix('/') {
            rest = r;
            anchored = true;
        }
        while let Some(r) = rest.strip_prefix("./") {
            rest = r;
            anchored = true;
        }
        let dir_only = rest.ends_with('/');
        let body = rest.trim_end_matches('/');
        if body.is_empty() {
            return Err("the pattern names the project root itself; name what is inside it".into());
        }
        if body.split('/').any(|seg| seg == ".." || seg == ".") {
            return Err(
                "`.` and `..` are not allowed in patterns: write the path relative to the project root"
                    .into(),
            );
        }
        if body.contains("//") {
            return Err("empty path segment (`//`) in pattern".into());
        }
        if body.contains('/') {
            anchored = true;
        }
        let mut glob = if anchored {
            body.to_string()
        } else {
            format!("**/{body}")
        };
        if dir_only {
            glob.push_str("/**");
        }
        // Check that the glob compiles, and report globset's reason if not.
        build_glob(&glob).map_err(|e| format!("invalid glob: {}", glob_error_reason(&e)))?;
        Ok(AccessPattern {
            source: source.to_string(),
            glob,
        })
    }
}

fn build_glob(glob: &str) -> Result<globset::Glob, globset::Error> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
}

fn glob_error_reason(e: &globset::Error) -> String {
    e.kind().to_string()
}

/// A compiled set of patterns, each tagged with a value (e.g. the rule or agent it came from).
#[derive(Debug, Clone)]
pub struct PatternSet<T> {
    set: GlobSet,
    tags: Vec<(AccessPattern, T)>,
}

impl<T> PatternSet<T> {
    /// Compiles the given patterns. Patterns must come from [`AccessPattern::parse`].
    pub fn new(patterns: Vec<(AccessPattern, T)>) -> Self {
        let mut b = GlobSetBuilder::new();
        for (p, _) in &patterns {
            // Parsed patterns always compile; a failure here would be a bug in `parse`.
            if let Ok(g) = build_glob(&p.glob) {
                b.add(g);
            }
        }
        let set = b.build().unwrap_or_else(|_| GlobSet::empty());
        PatternSet {
            set,
            tags: patterns,
        }
    }

    /// True when there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The first pattern (in insertion order) matching the root-relative, normalised `path` or one
    /// of its parent directories, with its tag.
    pub fn first_match(&self, path: &str) -> Option<&(AccessPattern, T)> {
        if self.tags.is_empty() || path.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        let mut candidate = path;
        loop {
            if let Some(&i) = self.set.matches(candidate).iter().min() {
                best = Some(best.map_or(i, |b: usize| b.min(i)));
            }
            match candidate.rfind('/') {
                Some(i) => candidate = &candidate[..i],
                None => break,
            }
        }
        best.map(|i| &self.tags[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> PatternSet<usize> {
        PatternSet::new(
            patterns
                .iter()
                .enumerate()
                .map(|(i, p)| (AccessPattern::parse(p).unwrap(), i))
                .collect(),
        )
    }

    #[test]
    fn gitignore_anchoring() {
        assert_eq!(AccessPattern::parse("tests/**").unwrap().glob, "tests/**");
        assert_eq!(
            AccessPattern::parse("*.test.*").unwrap().glob,
            "**/*.test.*"
        );
        assert_eq!(AccessPattern::parse("/build").unwrap().glob, "build");
        assert_eq!(
            AccessPattern::parse("vendor/").unwrap().glob,
            "**/vendor/**"
        );
        assert_eq!(AccessPattern::parse("./src/**").unwrap().glob, "src/**");
    }

    #[test]
    fn matching_follows_gitignore() {
        let s = set(&["tests/**", "*.test.*", "secrets", "docs/"]);
        assert_eq!(s.first_match("tests/a.py").map(|m| m.1), Some(0));
        assert!(s.first_match("src/tests/a.py").is_none());
        assert_eq!(s.first_match("src/x/app.test.ts").map(|m| m.1), Some(1));
        assert_eq!(s.first_match("a/secrets/key.pem").map(|m| m.1), Some(2));
        assert_eq!(s.first_match("secrets").map(|m| m.1), Some(2));
        assert_eq!(s.first_match("x/docs/readme.md").map(|m| m.1), Some(3));
        assert!(s.first_match("testsuite/a").is_none());
        assert!(s.first_match("src/main.rs").is_none());
    }

    #[test]
    fn star_does_not_cross_directories() {
        let s = set(&["src/*.rs"]);
        assert!(s.first_match("src/a.rs").is_some());
        assert!(s.first_match("src/sub/a.rs").is_none());
    }

    #[test]
    fn invalid_patterns_are_rejected_with_reasons() {
        for (p, why) in [
            ("", "empty"),
            ("!tests/**", "negated"),
            ("../x/**", "`..`"),
            ("src/../tests", "`..`"),
            ("src/[a", "invalid glob"),
            ("/", "root itself"),
            (" tests", "spaces"),
            ("a//b", "`//`"),
        ] {
            let err = AccessPattern::parse(p).unwrap_err();
            assert!(err.contains(why), "{p:?}: {err}");
        }
    }
}
