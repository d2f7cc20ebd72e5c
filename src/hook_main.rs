//! The `iw-hook` binary: `iw hook pre-tool-use` alone, for Claude Code to run before every tool
//! call.
//!
//! The same code as `iw hook pre-tool-use` (the library's `hook`), in a binary without the rest of
//! iw (command line, terminal UI, JSON Schema, file watching, SSH transport): a quarter of iw's
//! size and of its start-up relocations, so it starts in about half the time
//! (docs/PERFORMANCE.md). `iw apply` writes its path into settings.json when it is installed
//! beside iw, with the same arguments as iw's own form:
//! `iw-hook -C <root> hook pre-tool-use --agent <name> [--on-failure open|closed]`.

/// The system allocator, counting bytes so that the hook can cap its memory (src/hook/guard.rs).
#[global_allocator]
static ALLOC: iw::hook::guard::CountingAlloc = iw::hook::guard::CountingAlloc;

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.len() == 2 && argv[1] == "--version" {
        // What `iw doctor` asks every hook binary: it must be this iw's version.
        println!("iw-hook {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let code = match iw::cli::hook_fast_args(&argv) {
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
    };
    std::process::exit(code);
}
