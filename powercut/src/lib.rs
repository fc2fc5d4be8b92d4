//! Power loss for Lithair's tests, without mounts or privileges.
//!
//! The `powercut-preload` interposer (a `cdylib` loaded with `LD_PRELOAD` into the real server)
//! journals every change to the files of one directory and every `fsync`. This crate is the
//! other half, the part the harness links: the journal format ([`journal`]), the model that
//! replays it into what the disk would hold ([`Model`]), the power cut itself
//! ([`cut_power`]: rewrite the data directory to that durable image, optionally with a torn
//! page), and the way to run a program under the interposer ([`PowerCut`]).
//!
//! Kept apart from the interposer so that linking it never interposes the harness's own
//! writes. The model is written down in docs/powercut.md. A disk that fills up, for a test's
//! own in-process writes, is [`limit_file_size`].

mod file_size;
pub mod image;
pub mod journal;
pub mod model;
pub mod preload;

pub use file_size::limit_file_size;
pub use image::{CutOptions, CutReport, FileCut, cut_power, write_image};
pub use journal::{Fault, FileId, Record};
pub use model::Model;
pub use preload::{PowerCut, library, vars};

/// Read a journal and replay it (for example to read which faults were injected).
pub fn replay(journal: &std::path::Path) -> std::io::Result<Model> {
    Ok(Model::replay(&journal::read(journal)?))
}
