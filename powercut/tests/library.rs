//! The harness finds the interposer through `powercut::library()`, which asks cargo to build
//! it: check that this gives a loadable library exporting the hooks, from a test of a
//! package that does not itself build it.

use std::process::Command;

#[test]
fn library_builds_the_interposer_and_names_its_shared_object() {
    let library = powercut::library().expect("cargo builds powercut-preload");
    assert!(library.is_file(), "{}", library.display());
    assert_eq!(library.file_name().unwrap(), "libpowercut_preload.so");
    // Loading it into a program without POWERCUT_DIR changes nothing.
    let output = Command::new("true").env("LD_PRELOAD", &library).output().unwrap();
    assert!(output.status.success() && output.stderr.is_empty(), "{output:?}");
}
