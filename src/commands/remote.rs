//! `iw remote probe|write|run-start --root ROOT` (hidden): iw's side on a host reached over ssh. The
//! request is JSON on stdin, the reply JSON on stdout ([`crate::remote::wire`]); a failure of the
//! operation is in the reply, so the exit status is 0 whenever a reply was written.

use std::io::{Read as _, Write as _};
use std::path::Path;

use crate::remote::server;
use crate::support::{Error, Exit, Result};

/// `iw remote probe`.
pub fn probe(root: &Path) -> Result<Exit> {
    answer(|input| server::serve_probe(root, input))
}

/// `iw remote write`.
pub fn write(root: &Path) -> Result<Exit> {
    answer(|input| server::serve_write(root, input))
}

/// `iw remote run-start`.
pub fn run_start(root: &Path) -> Result<Exit> {
    answer(|input| crate::runs::remote::serve_start(root, input))
}

fn answer(serve: impl FnOnce(&[u8]) -> Vec<u8>) -> Result<Exit> {
    let stdin = Path::new("<stdin>");
    let stdout = Path::new("<stdout>");
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| Error::io("read", stdin, e))?;
    let reply = serve(&input);
    let mut out = std::io::stdout().lock();
    out.write_all(&reply)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("write", stdout, e))?;
    Ok(Exit::Success)
}
