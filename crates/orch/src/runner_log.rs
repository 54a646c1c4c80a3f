//! A worker's stdout or stderr kept within a cap: the process writes into a pipe, and a
//! thread of this process copies it to the log file, which never grows past the cap.
//! The head (half the cap) is kept as it came; past the cap the rest of the file is a
//! ring that holds the latest bytes, and once the stream ends the file is rewritten in
//! order: the head, a line saying how much was cut (`[orch: 136,870,912 bytes cut
//! here]`), the tail. Memory stays at one buffer whatever the worker writes.
//!
//! While a worker runs past its cap, the part after the head is out of order (a ring);
//! a dispatcher killed then leaves it so.

use orch_core::outcome::cut_marker;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Room kept at the end of the cap for the marker line, so the file stays within it.
const MARKER_ROOM: u64 = 64;
/// The smallest cap that leaves a head and a tail.
pub const MIN_CAP: u64 = 4096;
const CHUNK: usize = 64 * 1024;
/// How long the end of a process waits for its streams to end: a process that left the
/// run and kept the pipe open (it cleared its environment) must not hold the end up.
const EOF_WAIT: Duration = Duration::from_secs(2);

enum Phase {
    /// The input ended (every writer closed it).
    Eof,
    /// The file is final.
    Done,
}

/// A stream being copied by its thread, and how far it got as last seen.
pub(super) struct Kept {
    rx: mpsc::Receiver<Phase>,
    eof: bool,
    done: bool,
}

impl Kept {
    /// Takes in what the thread said so far without waiting.
    fn poll(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(Phase::Eof) => self.eof = true,
                Ok(Phase::Done) | Err(mpsc::TryRecvError::Disconnected) => {
                    (self.eof, self.done) = (true, true);
                    return;
                }
                Err(mpsc::TryRecvError::Empty) => return,
            }
        }
    }
}

/// Starts the thread that copies `input` into `file` (at `path`, created empty) within
/// `cap` bytes.
pub(super) fn keep(input: std::io::PipeReader, file: File, path: PathBuf, cap: u64) -> std::io::Result<Kept> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new().name("orch-log".into()).spawn(move || {
        let mut ring = Ring::new(file, cap);
        copy(input, &mut ring);
        let _ = tx.send(Phase::Eof);
        let _ = ring.finish(&path);
        let _ = tx.send(Phase::Done);
    })?;
    Ok(Kept { rx, eof: false, done: false })
}

/// Whether every stream has ended and its file is final, without waiting.
pub(super) fn all_final(kept: &mut [Kept]) -> bool {
    kept.iter_mut().all(|k| {
        k.poll();
        k.done
    })
}

/// Waits until the streams have ended and their files are final; a stream still open
/// after [`EOF_WAIT`] (held by a process that left the run) is not waited for.
pub(super) fn wait(kept: Vec<Kept>) {
    let until = Instant::now() + EOF_WAIT;
    for mut k in kept {
        k.poll();
        if k.done {
            continue;
        }
        if k.eof || matches!(k.rx.recv_timeout(until.saturating_duration_since(Instant::now())), Ok(Phase::Eof)) {
            let _ = k.rx.recv();
        }
    }
}

fn copy(mut input: impl Read, ring: &mut Ring) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match input.read(&mut buf) {
            Ok(0) => return,
            // A file that cannot be written (a full disk): the rest is read and dropped,
            // so the worker never blocks on a full pipe.
            Ok(n) => ring.write(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// The log file: `head` bytes as they came, then a ring of `tail` bytes.
struct Ring {
    file: File,
    head: u64,
    tail: u64,
    /// Bytes received so far.
    pos: u64,
    failed: bool,
}

impl Ring {
    fn new(file: File, cap: u64) -> Ring {
        let cap = cap.max(MIN_CAP);
        let head = cap / 2;
        Ring { file, head, tail: cap - head - MARKER_ROOM, pos: 0, failed: false }
    }

    /// Where byte `i` of the stream is written.
    fn offset(&self, i: u64) -> u64 {
        if i < self.head { i } else { self.head + (i - self.head) % self.tail }
    }

    fn write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let at = self.offset(self.pos);
            // Up to the end of the head, or of the ring.
            let room = if self.pos < self.head { self.head - at } else { self.head + self.tail - at };
            let n = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
            if !self.failed && self.file.write_all_at(&data[..n], at).is_err() {
                self.failed = true;
            }
            self.pos += n as u64;
            data = &data[n..];
        }
    }

    /// Puts the file in order once the stream ended: the head, the marker, the tail
    /// (written beside it and renamed over it).
    fn finish(&self, path: &Path) -> std::io::Result<()> {
        let kept = self.head + self.tail;
        if self.pos <= kept || self.failed {
            return Ok(());
        }
        let oldest = self.offset(self.pos);
        // The file was opened to be written only.
        let file = File::open(path)?;
        let mut last = [0u8; 1];
        file.read_exact_at(&mut last, self.head - 1)?;
        let mut marker = if last[0] == b'\n' { String::new() } else { "\n".to_string() };
        marker.push_str(&cut_marker(self.pos - kept));
        marker.push('\n');
        let tmp = path.with_extension("log.cut");
        let mut out = crate::home::create_private(&tmp)?;
        let mut buf = vec![0u8; CHUNK];
        let mut put = |from: u64, to: u64, out: &mut File| -> std::io::Result<()> {
            let mut i = from;
            while i < to {
                let n = usize::try_from(to - i).unwrap_or(CHUNK).min(CHUNK);
                file.read_exact_at(&mut buf[..n], i)?;
                out.write_all(&buf[..n])?;
                i += n as u64;
            }
            Ok(())
        };
        put(0, self.head, &mut out)?;
        out.write_all(marker.as_bytes())?;
        put(oldest, kept, &mut out)?;
        put(self.head, oldest, &mut out)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file left by streaming `input`, `chunk` bytes at a time, through a ring of `cap`.
    fn through(cap: u64, input: &[u8], chunk: usize) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        let mut ring = Ring::new(crate::home::create_private(&path).unwrap(), cap);
        for part in input.chunks(chunk) {
            ring.write(part);
        }
        ring.finish(&path).unwrap();
        std::fs::read(&path).unwrap()
    }

    fn lines(n: usize) -> Vec<u8> {
        (0..n).map(|i| format!("line {i}\n")).collect::<String>().into_bytes()
    }

    #[test]
    fn a_stream_within_the_cap_is_kept_whole() {
        let input = lines(100);
        assert_eq!(through(8192, &input, 7), input);
        let exact = vec![b'x'; 8192 - 64];
        assert_eq!(through(8192, &exact, 1000), exact);
    }

    #[test]
    fn past_the_cap_the_head_and_the_tail_are_kept_in_order_around_a_marker() {
        let input = lines(20_000);
        for chunk in [1, 333, 4096, 70_000] {
            let out = through(8192, &input, chunk);
            assert!(out.len() <= 8192, "{} bytes", out.len());
            let (head, tail) = (4096usize, 8192 - 4096 - 64);
            let cut = input.len() - head - tail;
            let marker = format!("\n{}\n", cut_marker(cut as u64));
            assert_eq!(&out[..head], &input[..head], "chunk {chunk}");
            assert_eq!(&out[head..head + marker.len()], marker.as_bytes(), "chunk {chunk}");
            assert_eq!(&out[head + marker.len()..], &input[input.len() - tail..], "chunk {chunk}");
        }
    }

    #[test]
    fn a_head_that_ends_a_line_gets_no_blank_line_before_the_marker() {
        let mut input = vec![b'a'; 4095];
        input.push(b'\n');
        input.extend(std::iter::repeat_n(b'b', 10_000));
        let out = through(8192, &input, 512);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("a\n[orch: 5,968 bytes cut here]\nbbb"), "{}", &text[4090..4140]);
    }
}
