//! A small program for the interposer's own tests: it runs a script of file operations in the
//! directory given as first argument, through Rust's std (so through the same libc calls as
//! Lithair), and prints `ok` or `err <errno>` for each step.
//!
//! Steps: `append FILE TEXT`, `dsync FILE TEXT` (append through `O_DSYNC`), `writev FILE TEXT TEXT`, `pwrite FILE OFFSET TEXT`,
//! `create FILE TEXT` (create/truncate and write), `fdatasync FILE`, `fsync FILE`,
//! `syncdir DIR`, `rename FROM TO`, `unlink FILE`, `truncate FILE LEN`, `threads N FILE`
//! (N threads, each appending and syncing its own `FILE.i` 100 times), then `exit` (no sync)
//! or `kill` (SIGKILL itself). Arguments are separated by spaces, steps by `;`.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, IoSlice, Write},
    os::unix::fs::{FileExt, OpenOptionsExt},
    path::Path,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: powercut-victim DIR SCRIPT");
    let script = args.next().unwrap_or_default();
    let dir = Path::new(&dir);
    for step in script.split(';').map(str::trim).filter(|step| !step.is_empty()) {
        let words: Vec<&str> = step.split(' ').collect();
        let outcome = run(dir, &words);
        match outcome {
            Ok(()) => println!("{step}: ok"),
            Err(err) => println!("{step}: err {}", err.raw_os_error().unwrap_or(-1)),
        }
    }
}

fn run(dir: &Path, words: &[&str]) -> io::Result<()> {
    let path = |i: usize| dir.join(words[i]);
    let append = |i: usize| OpenOptions::new().create(true).append(true).open(path(i));
    match words {
        ["append", _, text] => append(1)?.write_all(text.as_bytes()),
        ["writev", _, a, b] => {
            let written = append(1)?
                .write_vectored(&[IoSlice::new(a.as_bytes()), IoSlice::new(b.as_bytes())])?;
            if written == a.len() + b.len() {
                Ok(())
            } else {
                Err(io::Error::other("short writev"))
            }
        }
        ["pwrite", _, offset, text] => {
            let file = OpenOptions::new().create(true).truncate(false).write(true).open(path(1))?;
            file.write_all_at(text.as_bytes(), offset.parse().expect("offset"))
        }
        ["dsync", _, text] => {
            let mut options = OpenOptions::new();
            options.create(true).append(true).custom_flags(libc::O_DSYNC);
            options.open(path(1))?.write_all(text.as_bytes())
        }
        ["create", _, text] => File::create(path(1))?.write_all(text.as_bytes()),
        ["fdatasync", _] => File::open(path(1))?.sync_data(),
        ["fsync" | "syncdir", _] => File::open(path(1))?.sync_all(),
        ["rename", _, _] => fs::rename(path(1), path(2)),
        ["unlink", _] => fs::remove_file(path(1)),
        ["truncate", _, len] => {
            OpenOptions::new().write(true).open(path(1))?.set_len(len.parse().expect("len"))
        }
        ["threads", count, _] => {
            let threads: Vec<_> = (0..count.parse::<usize>().expect("count"))
                .map(|i| {
                    let path = dir.join(format!("{}.{i}", words[2]));
                    std::thread::spawn(move || -> io::Result<()> {
                        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
                        for line in 0..100 {
                            file.write_all(format!("thread {i} line {line}\n").as_bytes())?;
                            file.sync_data()?;
                        }
                        Ok(())
                    })
                })
                .collect();
            threads.into_iter().try_for_each(|thread| thread.join().expect("thread"))
        }
        ["exit"] => {
            io::stdout().flush()?;
            std::process::exit(0)
        }
        ["kill"] => {
            io::stdout().flush()?;
            // SAFETY: signalling ourselves.
            unsafe { libc::raise(libc::SIGKILL) };
            unreachable!("SIGKILL returned")
        }
        _ => panic!("unknown step {words:?}"),
    }
}
