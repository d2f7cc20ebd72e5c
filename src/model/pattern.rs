//! The registry's path and command patterns: access patterns (`cannot_access`,
//! `exclusive_access`, `cannot_read`, with gitignore meaning), command patterns (`deny_commands`)
//! and outside path patterns (`write_outside_root`). The registry checks them; the policy compiles
//! and matches them.
//!
//! Access patterns:
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

use std::fmt;

use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use super::simple_glob::SimpleGlob;

/// Why an access pattern is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    /// The pattern is empty.
    Empty,
    /// It starts or ends with spaces.
    Spaces,
    /// It is negated (`!…`).
    Negated,
    /// It starts with `~`.
    Home,
    /// It names the project root itself.
    Root,
    /// It has a `.` or `..` segment.
    DotSegment,
    /// It has an empty segment (`//`).
    EmptySegment,
    /// Its glob does not compile.
    Glob(globset::ErrorKind),
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Empty => f.write_str("an access pattern cannot be empty"),
            PatternError::Spaces => {
                f.write_str("an access pattern cannot start or end with spaces")
            }
            PatternError::Negated => {
                f.write_str("negated patterns (`!…`) are not supported: list what is forbidden")
            }
            PatternError::Home => f.write_str(
                "patterns are relative to the project root; `~` (home) is not supported",
            ),
            PatternError::Root => {
                f.write_str("the pattern names the project root itself; name what is inside it")
            }
            PatternError::DotSegment => f.write_str(
                "`.` and `..` are not allowed in patterns: write the path relative to the project \
                 root",
            ),
            PatternError::EmptySegment => f.write_str("empty path segment (`//`) in pattern"),
            PatternError::Glob(kind) => write!(f, "invalid glob: {kind}"),
        }
    }
}

impl std::error::Error for PatternError {}

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
    pub fn parse(source: &str) -> Result<AccessPattern, PatternError> {
        let trimmed = source.trim();
        if trimmed.is_empty() {
            return Err(PatternError::Empty);
        }
        if trimmed != source {
            return Err(PatternError::Spaces);
        }
        if source.starts_with('!') {
            return Err(PatternError::Negated);
        }
        if source.starts_with('~') {
            return Err(PatternError::Home);
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
            return Err(PatternError::Root);
        }
        if body.split('/').any(|seg| seg == ".." || seg == ".") {
            return Err(PatternError::DotSegment);
        }
        if body.contains("//") {
            return Err(PatternError::EmptySegment);
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
        if may_not_compile(&glob) {
            build_glob(&glob).map_err(|e| PatternError::Glob(e.kind().clone()))?;
        }
        Ok(AccessPattern {
            source: source.to_string(),
            glob,
        })
    }
}

/// False for a glob globset always compiles: one without a class (`[`), alternates (`{`, `}`)
/// or an escape (`\\`), which are the only sources of its errors (checked by a property test).
/// Checking these costs nothing, compiling them does (the hook checks every pattern it loads).
fn may_not_compile(glob: &str) -> bool {
    glob.contains(['[', '{', '}', '\\'])
}

fn build_glob(glob: &str) -> Result<globset::Glob, globset::Error> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
}

/// Why a command pattern (`deny_commands`) or an outside path pattern (`write_outside_root`) is
/// not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobError {
    /// A command pattern is empty.
    Empty,
    /// An outside path pattern is not absolute.
    NotAbsolute,
    /// An outside path pattern has a `.` or `..` segment.
    DotSegment,
    /// The glob does not compile.
    Glob(globset::ErrorKind),
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GlobError::Empty => f.write_str("it is empty"),
            GlobError::NotAbsolute => f.write_str("it must be an absolute path, e.g. `/tmp/**`"),
            GlobError::DotSegment => f.write_str("`.` and `..` are not allowed"),
            GlobError::Glob(kind) => write!(f, "{kind}"),
        }
    }
}

impl std::error::Error for GlobError {}

/// Compiles a `deny_commands` pattern: a glob over a command's words joined by single spaces,
/// where `*` also matches spaces and `/`.
pub fn command_glob(pattern: &str) -> Result<GlobMatcher, GlobError> {
    if pattern.trim().is_empty() {
        return Err(GlobError::Empty);
    }
    let normalised = pattern.split_whitespace().collect::<Vec<_>>().join(" ");
    GlobBuilder::new(&normalised)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| GlobError::Glob(e.kind().clone()))
}

/// Compiles a `write_outside_root` pattern: an absolute path glob (`*` stays within a directory).
pub fn outside_glob(pattern: &str) -> Result<GlobMatcher, GlobError> {
    if !pattern.starts_with('/') {
        return Err(GlobError::NotAbsolute);
    }
    if pattern.split('/').any(|s| s == ".." || s == ".") {
        return Err(GlobError::DotSegment);
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| GlobError::Glob(e.kind().clone()))
}

/// A compiled set of patterns, each tagged with a value (e.g. the rule or agent it came from).
/// Patterns of the common shapes are matched by [`SimpleGlob`]; only the others are compiled
/// into a globset (whose regexes cost far more to build than the hook spends deciding).
#[derive(Debug, Clone)]
pub struct PatternSet<T> {
    /// The simple patterns, by index in `tags` (ascending).
    simple: Vec<(usize, SimpleGlob)>,
    /// The other patterns, compiled together.
    set: GlobSet,
    /// For each glob of `set`, its index in `tags`.
    complex: Vec<usize>,
    tags: Vec<(AccessPattern, T)>,
}

impl<T> PatternSet<T> {
    /// Compiles the given patterns. Patterns must come from [`AccessPattern::parse`].
    pub fn new(patterns: Vec<(AccessPattern, T)>) -> Self {
        let mut simple = Vec::new();
        let mut complex = Vec::new();
        let mut b = GlobSetBuilder::new();
        for (i, (p, _)) in patterns.iter().enumerate() {
            if let Some(g) = SimpleGlob::parse(&p.glob) {
                simple.push((i, g));
            // Parsed patterns always compile; a failure here would be a bug in `parse`.
            } else if let Ok(g) = build_glob(&p.glob) {
                b.add(g);
                complex.push(i);
            }
        }
        let set = if complex.is_empty() {
            GlobSet::empty()
        } else {
            b.build().unwrap_or_else(|_| GlobSet::empty())
        };
        PatternSet {
            simple,
            set,
            complex,
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
            for (i, g) in &self.simple {
                if best.is_some_and(|b| *i >= b) {
                    break;
                }
                if g.is_match(candidate) {
                    best = Some(*i);
                    break;
                }
            }
            if !self.complex.is_empty()
                && let Some(i) = self
                    .set
                    .matches(candidate)
                    .iter()
                    .map(|&k| self.complex[k])
                    .min()
            {
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
    use proptest::prelude::*;

    /// The set as it was before simple globs: every pattern in one globset.
    fn reference_first_match(patterns: &[AccessPattern], path: &str) -> Option<usize> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            b.add(build_glob(&p.glob).unwrap());
        }
        let set = b.build().unwrap();
        let mut best: Option<usize> = None;
        let mut candidate = path;
        loop {
            if let Some(&i) = set.matches(candidate).iter().min() {
                best = Some(best.map_or(i, |b: usize| b.min(i)));
            }
            match candidate.rfind('/') {
                Some(i) => candidate = &candidate[..i],
                None => break,
            }
        }
        best
    }

    /// Globs of `/`-separated segments, `**` among them, and odd strings.
    fn globs() -> impl Strategy<Value = String> {
        prop_oneof![
            "(\\*\\*|[ab.*?é\n,-]{1,4})(/(\\*\\*|[ab.*?é\n,-]{1,4})){0,3}",
            "[ab/.*?é\n]{0,10}",
        ]
    }

    /// Paths as the hook matches them: relative, normalised (no empty, `.` or `..` segment).
    fn normal_paths() -> impl Strategy<Value = String> {
        prop::collection::vec("[ab.é\\n-]{1,4}", 1..5)
            .prop_filter("no . or .. segments", |s| {
                s.iter().all(|x| x != "." && x != "..")
            })
            .prop_map(|s| s.join("/"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// A simple glob compiles in globset and matches exactly what globset's regex matches,
        /// on any string; on the paths the hook matches, what a globset matches too. (Globset's
        /// own shortcuts differ from its regex on a name `..`, which such paths never have.)
        #[test]
        fn simple_globs_match_like_globset(
            glob in globs(),
            normal in prop::collection::vec(normal_paths(), 1..6),
            any in prop::collection::vec("[ab/.é\\n*?]{0,12}", 1..6),
        ) {
            if let Some(simple) = SimpleGlob::parse(&glob) {
                let g = build_glob(&glob).unwrap();
                let matcher = g.compile_matcher();
                let set = GlobSetBuilder::new().add(g).build().unwrap();
                for path in &any {
                    prop_assert_eq!(simple.is_match(path), matcher.is_match(path), "{:?} against {:?}", glob, path);
                }
                for path in &normal {
                    let want = set.is_match(path);
                    prop_assert_eq!(matcher.is_match(path), want, "globset: {:?} {:?}", glob, path);
                    prop_assert_eq!(simple.is_match(path), want, "{:?} against {:?}", glob, path);
                }
            }
        }

        /// Sets of registry patterns give the same first match as one globset of them all, and
        /// parsing a pattern gives what it gave when every glob was compiled to check it.
        #[test]
        fn pattern_sets_match_like_one_globset(
            sources in prop::collection::vec(prop_oneof![
                "[ab.*?]{1,4}(/[ab.*?]{1,4}){0,2}/?",
                "/?[ab*]{1,3}(/\\*\\*)?(/[ab.*]{1,3})?/?",
                "\\*\\*/[ab.*]{1,3}",
                "[ab]{1,2}/\\*\\*/[ab*.]{1,3}",
                "[ab]{0,2}\\[[ab]\\][ab.*]{0,2}",
                "\\{a,b\\}[ab.*/]{0,3}",
            ], 1..8),
            paths in prop::collection::vec(normal_paths(), 1..8),
        ) {
            let parsed: Vec<AccessPattern> = sources.iter().filter_map(|s| {
                let p = AccessPattern::parse(s).ok()?;
                // Every glob a pattern means compiles (so skipping the check changed nothing).
                assert!(build_glob(&p.glob).is_ok(), "{s:?}");
                Some(p)
            }).collect();
            prop_assume!(!parsed.is_empty());
            let set = PatternSet::new(parsed.iter().cloned().enumerate().map(|(i, p)| (p, i)).collect());
            for path in &paths {
                prop_assert_eq!(
                    set.first_match(path).map(|m| m.1),
                    reference_first_match(&parsed, path),
                    "{:?} against {:?}", parsed.iter().map(|p| &p.glob).collect::<Vec<_>>(), path
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Globs without classes, alternates or escapes always compile: skipping the check for
        /// them changes no pattern's verdict.
        #[test]
        fn globs_without_classes_alternates_or_escapes_compile(glob in "[ab/.*?é!,\\]^$()|+-]{0,14}") {
            prop_assert!(!may_not_compile(&glob));
            prop_assert!(build_glob(&glob).is_ok(), "{:?}", glob);
        }
    }

    #[test]
    fn the_registrys_shapes_are_simple_and_classes_are_not() {
        for glob in [
            "agents/registry.yaml",
            "tests/**",
            "**/*.test.*",
            "**/CHANGELOG.md",
            "schema/*.sql",
            "agents/*/.claude/**",
            "**/vendor/**",
            "src/**/*.rs",
            "**",
        ] {
            assert!(SimpleGlob::parse(glob).is_some(), "{glob}");
        }
        for glob in [
            "src/[ab].rs",
            "{a,b}/**",
            "a\\*",
            "a**",
            "**/**",
            "a//b",
            "/a",
            "a/",
        ] {
            assert!(SimpleGlob::parse(glob).is_none(), "{glob}");
        }
    }

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
            let err = AccessPattern::parse(p).unwrap_err().to_string();
            assert!(err.contains(why), "{p:?}: {err}");
        }
    }
}
