//! One thread per item, for work that waits (ssh round trips to several hosts): results in the
//! items' order, `None` for an item whose thread panicked (each caller says what failed).

/// Runs `f` on every item of `items` at once, each in a thread of its own, and returns the
/// results in the items' order (`None` where `f` panicked).
pub fn each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items.iter().map(|t| s.spawn(move || f(t))).collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_in_order_and_a_panic_is_none() {
        let got = super::each(&[3u64, 0, 1], |&n| {
            std::thread::sleep(std::time::Duration::from_millis(n * 10));
            assert!(n != 0, "boom");
            n * 2
        });
        assert_eq!(got, [Some(6), None, Some(2)]);
    }
}
