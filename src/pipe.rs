//! Room in the pipe a command writes its lines into.
//!
//! A pipe holds 64 KiB by default, less than one batch of `tail --json` lines, so at full
//! speed every write waits for the reader to drain it and each side wakes the other many
//! times a batch. Asking for a larger pipe (1 MiB, what Linux grants an unprivileged
//! process by default) lets a batch go in one write and the reader take it in a few reads.

use std::os::fd::AsRawFd;

/// What a pipe is asked to hold.
pub const WIDE: usize = 1 << 20;

/// Asks for `WIDE` bytes of room in the pipe `fd` is, if it is a pipe (a file or terminal
/// is left alone); the room it has after (`None`: not a pipe, or not on Linux). Never
/// shrinks a pipe, and a refusal (a lower system limit) is not an error: the pipe keeps
/// what it had.
pub fn widen(fd: &impl AsRawFd) -> Option<usize> {
    widen_raw(fd.as_raw_fd())
}

#[cfg(target_os = "linux")]
fn widen_raw(fd: std::os::fd::RawFd) -> Option<usize> {
    // SAFETY: `fstat` writes into the struct it is given; `fcntl` with F_GETPIPE_SZ and
    // F_SETPIPE_SZ takes an int and touches no memory. A bad or closed fd gives an error.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 || st.st_mode & libc::S_IFMT != libc::S_IFIFO {
            return None;
        }
        let now = usize::try_from(libc::fcntl(fd, libc::F_GETPIPE_SZ)).ok()?;
        if now >= WIDE {
            return Some(now);
        }
        let asked = libc::c_int::try_from(WIDE).ok()?;
        match usize::try_from(libc::fcntl(fd, libc::F_SETPIPE_SZ, asked)) {
            Ok(granted) => Some(granted),
            Err(_) => Some(now),
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn widen_raw(_fd: std::os::fd::RawFd) -> Option<usize> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_pipe_is_widened_and_a_file_left_alone() {
        let (mut reader, writer) = std::io::pipe().expect("a pipe");
        let before = unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_GETPIPE_SZ) };
        assert!(before > 0);
        let max: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(WIDE);
        let granted = widen(&writer).expect("a pipe is widened");
        assert_eq!(granted, WIDE.min(max).max(before as usize));
        let after = unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_GETPIPE_SZ) };
        assert_eq!(after as usize, granted);
        // Room for more than the old default in one write, without a reader.
        let mut writer = writer;
        if granted >= WIDE {
            let batch = vec![b'x'; 200 << 10];
            writer.write_all(&batch).expect("one write of 200 KiB");
            drop(writer);
            let mut back = Vec::new();
            reader.read_to_end(&mut back).expect("read back");
            assert_eq!(back.len(), batch.len());
        }
        let dir = std::env::temp_dir().join(format!("mcptop-pipe-{}", std::process::id()));
        let file = std::fs::File::create(&dir).expect("a file");
        assert_eq!(widen(&file), None, "a file is no pipe");
        let _ = std::fs::remove_file(&dir);
    }
}
