//! Resource guards for `iw hook pre-tool-use`: whatever the input, the hook process ends with exit
//! 0 or 2 and never with anything else, because Claude Code lets a tool call through when a hook
//! crashes, is killed, or exits with any other code.
//!
//! [`arm`] sets a memory budget, enforced by iw's global allocator ([`CountingAlloc`]), and a
//! deadline, enforced by a timer signal (`SIGALRM`). Crossing either writes the reason to stderr and ends
//! the process at once with the chosen exit code (2 when failing closed). A pathological Bash
//! command has been seen to make the shell tokenizer allocate without bound; this is what stops
//! it (docs/security.md).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicIsize, Ordering};
use std::time::Duration;

/// Bytes allocated since [`arm`], less those freed since (below zero when memory allocated before
/// is freed: the budget is then that much more lenient, never stricter).
static USED: AtomicIsize = AtomicIsize::new(0);
/// The budget in bytes; 0 until [`arm`]: nothing is counted before, so that a process that never
/// arms the guard (every command but the hook) pays a load and a branch per allocation, not an
/// atomic read-modify-write on a line every thread shares (12 % of a 10 000-agent apply).
static LIMIT: AtomicIsize = AtomicIsize::new(0);
static EXIT_CODE: AtomicI32 = AtomicI32::new(2);
static READING_INPUT: AtomicBool = AtomicBool::new(false);

/// Tells the deadline's handler whether the hook is still waiting for its input (so that running out of
/// time says so).
pub fn reading_input(reading: bool) {
    READING_INPUT.store(reading, Ordering::Relaxed);
}

/// The system allocator, counting live bytes; over the armed limit it ends the process.
pub struct CountingAlloc;

fn die(message: &[u8]) -> ! {
    // No allocation, no locks: write(2) and _exit(2) only.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(EXIT_CODE.load(Ordering::Relaxed));
    }
}

const OUT_OF_MEMORY: &[u8] = b"iw hook: the tool call needed more memory than the hook allows \
(a pathological command?); it was blocked. Rewrite the command more simply.\n";
const OUT_OF_TIME: &[u8] = b"iw hook: deciding on the tool call took longer than the hook \
allows (a pathological command?); it was blocked. Rewrite the command more simply.\n";
const NO_INPUT: &[u8] = b"iw hook: no complete tool call arrived on stdin in the time the hook \
allows; it was blocked.\n";
const CRASHED: &[u8] = b"iw hook: the hook crashed deciding on the tool call (a stack \
overflow on a deeply nested command?); it was blocked. Rewrite the command more simply.\n";

extern "C" fn on_fatal_signal(_signal: libc::c_int) {
    die(CRASHED);
}

fn charge(size: usize) {
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit == 0 {
        return;
    }
    let size = isize::try_from(size).unwrap_or(isize::MAX);
    let used = USED.fetch_add(size, Ordering::Relaxed).saturating_add(size);
    if used > limit {
        die(OUT_OF_MEMORY);
    }
}

fn release(size: usize) {
    if LIMIT.load(Ordering::Relaxed) != 0 {
        USED.fetch_sub(isize::try_from(size).unwrap_or(0), Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the same arguments; the counting around it
// does not allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        release(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            charge(new_size - layout.size());
        } else {
            release(layout.size() - new_size);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Limits this process to `memory` more bytes than it uses now and to `time` from now; crossing
/// either ends it with `exit_code` (the memory limit only takes effect in a binary that uses
/// [`CountingAlloc`]). A crash — a stack overflow, an abort (a panic while panicking), a bad
/// memory access — ends it with `exit_code` too, instead of a signal that Claude Code would
/// read as "allow".
pub fn arm(memory: usize, time: Duration, exit_code: i32) {
    EXIT_CODE.store(exit_code, Ordering::Relaxed);
    // SAFETY: the handler only calls async-signal-safe functions (write, _exit). SA_ONSTACK runs
    // it on the alternate stack std sets up for the main thread (iw-hook, which starts without
    // std's start-up, sets one up itself), so a stack overflow reaches it.
    unsafe {
        for signal in [
            libc::SIGABRT,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
        ] {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fatal_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    USED.store(0, Ordering::Relaxed);
    LIMIT.store(
        isize::try_from(memory).unwrap_or(isize::MAX).max(1),
        Ordering::Relaxed,
    );
    // The deadline: a one-shot SIGALRM. (A watchdog thread cost more to start — its stack, its
    // malloc arena — than the rest of a typical decision's set-up.)
    // SAFETY: the handler only calls async-signal-safe functions (write, _exit) and reads an
    // atomic; setitimer arms the process's real-time timer, which nothing else in iw uses.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut());
        let timer = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: time.as_secs().try_into().unwrap_or(libc::time_t::MAX),
                tv_usec: time.subsec_micros().into(),
            },
        };
        libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut());
    }
}

/// The deadline passed: say whether the input never came or the decision took too long.
extern "C" fn on_alarm(_signal: libc::c_int) {
    die(if READING_INPUT.load(Ordering::Relaxed) {
        NO_INPUT
    } else {
        OUT_OF_TIME
    });
}
