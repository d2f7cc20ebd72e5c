//! Quoting for the remote shell: `ssh HOST CMD` hands CMD, one string, to the login shell of
//! the remote user (`$SHELL -c CMD`), so every argument iw puts in it is quoted here.
//!
//! A word made only of characters no POSIX shell treats specially is left as it is; anything else
//! is put in single quotes, a `'` inside written `'\''`. Unlike `claude::shell_quote`, a word
//! starting with `=` or `~`, or holding `%`, is quoted too: zsh (a common login shell) expands
//! `=name` to the path of command `name` (and fails when there is none), which would break every
//! exact tmux target (`-t =session`). The login shell is assumed to be POSIX-like (sh, dash,
//! bash, zsh, ksh); fish reads `\\` inside single quotes differently.

/// `s` as one word for a POSIX shell.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./,:@+".contains(&b));
    if plain {
        s.to_string()
    } else {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('\'');
        for c in s.chars() {
            if c == '\'' {
                q.push_str("'\\''");
            } else {
                q.push(c);
            }
        }
        q.push('\'');
        q
    }
}

/// The words as one command line: each quoted, separated by spaces.
pub fn join<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    words
        .into_iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_words_stay_and_others_are_single_quoted() {
        assert_eq!(quote("tmux"), "tmux");
        assert_eq!(quote("/a/b-c_d.e"), "/a/b-c_d.e");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("=sess"), "'=sess'");
        assert_eq!(quote("~root"), "'~root'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote(";"), "';'");
        assert_eq!(quote("a\nb"), "'a\nb'");
        assert_eq!(join(["tmux", "-L", "x y", "=s"]), "tmux -L 'x y' '=s'");
    }

    /// What `sh` makes of a command line printing each argument on its own, NUL-terminated.
    fn through_sh(shell: &str, line: &str) -> Vec<String> {
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(format!("printf '%s\\0' {line}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell} -c {line:?}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut v: Vec<String> = text.split('\0').map(String::from).collect();
        v.pop();
        v
    }

    #[test]
    fn zsh_style_expansions_are_quoted() {
        // A real shell reads each word back exactly, specials included.
        let words = [
            "=x", "~", "a*b", "$(id)", "`id`", "a;b", "a|b", "!x", "#c", "{a,b}",
        ];
        assert_eq!(through_sh("sh", &join(words)), words);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_words_come_back_from_sh(words in proptest::collection::vec("[^\\x00]{0,12}", 1..5)) {
            prop_assert_eq!(through_sh("sh", &join(&words)), words);
        }
    }
}
