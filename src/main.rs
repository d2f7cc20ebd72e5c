//! The `iw` binary: everything lives in the library; see `iw --help`.

/// The system allocator, counting bytes so that the hook can cap its memory (src/guard.rs).
#[global_allocator]
static ALLOC: iw::hook::guard::CountingAlloc = iw::hook::guard::CountingAlloc;

fn main() {
    std::process::exit(iw::cli::run());
}
