//! The `iw` binary: everything lives in the library; see `iw --help`.

fn main() {
    std::process::exit(iw::cli::run());
}
