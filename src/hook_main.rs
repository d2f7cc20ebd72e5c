//! The `iw-hook` binary: `iw hook pre-tool-use` alone, for Claude Code to run before every tool
//! call.
//!
//! The same code as `iw hook pre-tool-use` (the library's `hook`), in a binary without the rest of
//! iw (command line, terminal UI, JSON Schema, file watching, SSH transport): a quarter of iw's
//! size and of its start-up relocations, so it starts in about half the time
//! (docs/PERFORMANCE.md). `iw apply` writes its path into settings.json when it is installed
//! beside iw, with the same arguments as iw's own form:
//! `iw-hook -C <root> hook pre-tool-use --agent <name> [--on-failure open|closed]`.

// Rust's usual `main` runs the standard library's start-up first: among other things it reads
// /proc/self/maps for the main thread's stack bounds (for its stack-overflow message). That is a
// tenth of this process's time, paid before every tool call; `start` below does the part of that
// start-up the hook relies on itself. A panic that escapes aborts the process instead of exiting
// 101: a denial either way (the crash guard, src/hook/guard.rs, or the hook command in
// settings.json, which turns any status but 0 and 2 into 2).
#![no_main]

/// The system allocator, counting bytes so that the hook can cap its memory (src/hook/guard.rs).
#[global_allocator]
static ALLOC: iw::hook::guard::CountingAlloc = iw::hook::guard::CountingAlloc;

/// The process's entry point, called by the C runtime (the arguments come from
/// [`std::env::args_os`], which the standard library captures on Linux without its own `main`).
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    start();
    run()
}

/// What the standard library's start-up would have done that the hook relies on: standard
/// descriptors that are open (a closed one is pointed at /dev/null, so that no file iw opens
/// takes its place), SIGPIPE ignored (a reader gone away must not change the exit status), and an
/// alternate signal stack, on which the hook's crash handler reports a stack overflow
/// (src/hook/guard.rs).
fn start() {
    const ALT_STACK: usize = 64 * 1024;
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is an array of three valid pollfd structures for the call's duration; the
    // path is a NUL-terminated literal; signal() with SIG_IGN has no preconditions; the
    // alternate stack is a fresh private mapping of ALT_STACK bytes, never unmapped.
    unsafe {
        if libc::poll(fds.as_mut_ptr(), 3, 0) > 0 {
            for p in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
                // open() returns the lowest free descriptor: the closed one, in order.
                let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if fd != p.fd {
                    libc::abort();
                }
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        let stack = libc::mmap(
            std::ptr::null_mut(),
            ALT_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if stack != libc::MAP_FAILED {
            let alt = libc::stack_t {
                ss_sp: stack,
                ss_flags: 0,
                ss_size: ALT_STACK,
            };
            libc::sigaltstack(&alt, std::ptr::null_mut());
        }
    }
}

/// The hook call, or `--version`; the exit status.
fn run() -> i32 {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.len() == 2 && argv[1] == "--version" {
        // What `iw doctor` asks every hook binary: it must be this iw's version.
        println!("iw-hook {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    match iw::cli::hook_fast_args(&argv) {
        Some(opts) => iw::commands::hook::pre_tool_use(&opts),
        None => {
            // Anything else is not a call iw wrote: block it, and say what this binary is for.
            eprintln!(
                "iw-hook: expected `iw-hook -C ROOT hook pre-tool-use --agent NAME \
                 [--on-failure open|closed]` (the PreToolUse hook iw writes into settings.json); \
                 for anything else use iw"
            );
            2
        }
    }
}
