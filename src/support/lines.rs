//! Lines of a text, found with a vectorised search for newlines: a plan of thousands of new
//! files is shown line by line, and `str`'s own splitting looks at one line at a time.

/// The lines of `text`, each with its `\n` (the last one may have none): what
/// `text.split_inclusive('\n')` gives.
pub fn inclusive(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', text.as_bytes());
    std::iter::from_fn(move || {
        let end = match ends.next() {
            Some(i) => i + 1,
            None if start < text.len() => text.len(),
            None => return None,
        };
        // Cut after a `\n` or at the end: both are char boundaries.
        let line = &text[start..end];
        start = end;
        Some(line)
    })
}

/// How many lines [`inclusive`] gives.
pub fn count(text: &str) -> usize {
    memchr::memchr_iter(b'\n', text.as_bytes()).count()
        + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

/// The lines of `text` without their endings (`\n` or `\r\n`): what `text.lines()` gives.
pub fn plain(text: &str) -> impl Iterator<Item = &str> {
    inclusive(text).map(|line| match line.strip_suffix('\n') {
        Some(l) => l.strip_suffix('\r').unwrap_or(l),
        None => line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_same_lines_as_str_gives(text in "([a-zé \\t\\r]{0,5}\\n?){0,9}") {
            let want: Vec<&str> = text.split_inclusive('\n').collect();
            prop_assert_eq!(inclusive(&text).collect::<Vec<_>>(), want.clone());
            prop_assert_eq!(count(&text), want.len());
            prop_assert_eq!(plain(&text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>());
        }
    }
}
