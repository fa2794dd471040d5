//! What an input path is, before any parser sees it. Regular files are parsed in place (polars may
//! map them); a directory is refused with that word; pipes, FIFOs and character devices (`<(cmd)`,
//! `/dev/stdin`, `mkfifo`) are read into memory first — opened without blocking, so a FIFO that no
//! process writes to gives "empty" at once instead of hanging the command.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::LoadError;

/// An input ready to parse.
pub enum Source {
    /// A regular file, read by the parser itself.
    File(PathBuf),
    /// The whole content of a stream.
    Bytes(Vec<u8>),
}

/// Look at `path` and make it a [`Source`].
pub fn open(path: &Path) -> Result<Source, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(LoadError::NotAFile {
            path: path.to_path_buf(),
            what: "a directory",
        });
    }
    if meta.is_file() {
        return Ok(Source::File(path.to_path_buf()));
    }
    Ok(Source::Bytes(read_stream(path).map_err(io)?))
}

/// Read a stream to its end. The open does not wait for a writer; reads then block as usual.
#[cfg(unix)]
fn read_stream(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // SAFETY: fcntl on a descriptor this function owns; only the O_NONBLOCK flag changes.
    unsafe {
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(not(unix))]
fn read_stream(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
}

impl Source {
    /// The whole content as bytes (reading a regular file).
    pub fn into_bytes(self, path: &Path) -> Result<Vec<u8>, LoadError> {
        match self {
            Source::Bytes(b) => Ok(b),
            Source::File(p) => std::fs::read(&p).map_err(|source| LoadError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}
