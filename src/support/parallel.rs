//! Work on several items at once, results in the items' order: [`each`], one thread per item,
//! for work that waits (ssh round trips to several hosts), `None` for an item whose thread
//! panicked (each caller says what failed); [`map_in_order`], on every core (rayon) for work
//! that computes or does local I/O, from enough items to be worth it.

/// From this many agents (or files) on, rendering and reading run on every core (rayon); below
/// it, starting threads costs more than it saves.
pub const PARALLEL_FROM: usize = 64;

/// `f` over `items`, in order: on every core (rayon) from `parallel_from` items on, else on this
/// thread (no thread pool is started for small teams or in the hook).
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    parallel_from: usize,
    f: impl Fn(&T) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    if items.len() < parallel_from {
        items.iter().map(f).collect()
    } else {
        items.par_iter().map(f).collect()
    }
}

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
