//! Finding the `lithair-server` binary under test: the very program the README starts.
//!
//! The harness is a test of the `cucumber-tests` package, and cargo only builds a package's own
//! binaries for its tests. So the harness asks cargo itself to build `lithair-server` with the
//! same profile the harness was built with, and so it is never stale. `LITHAIR_SERVER_BIN`
//! overrides the search, to test a binary built elsewhere.
//!
//! Build once: that request resolves features exactly as `cargo test --workspace` does, so
//! after it the server and every dependency are already fresh and nothing compiles twice.
//! Cargo resolves features over the packages selected and, when a build includes tests or
//! examples, over dev-dependencies too: a plain `cargo build -p lithair-server` saw neither,
//! gave hyper-util, tokio's macros, serde, clap… other feature sets, and rebuilt the server
//! and ~35 crates under it. Selecting `--workspace` and `--examples` gives the same
//! resolution as the test build. `--examples` builds every example, which `cargo test` builds
//! anyway (the workspace has none today); it is only there to bring dev-dependencies in.
//! After `cargo test -p cucumber-tests` alone the server is built once under the workspace's
//! resolution, which later workspace runs then reuse. (Reusing the
//! `target/<profile>/lithair-server` a test build leaves was the other way, but after
//! `cargo test -p cucumber-tests` alone that file may be stale.)

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use anyhow::{Context, bail};

/// Path of the `lithair-server` executable, built on first use.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| locate_or_build().map_err(|err| format!("{err:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn locate_or_build() -> anyhow::Result<PathBuf> {
    if let Some(path) = env::var_os("LITHAIR_SERVER_BIN") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("LITHAIR_SERVER_BIN={} is not a file", path.display());
        }
        return Ok(path);
    }
    build_with_cargo()
}

fn build_with_cargo() -> anyhow::Result<PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile = current_profile()?;
    eprintln!("harness: making sure lithair-server is built ({profile} profile)...");
    let output = Command::new(&cargo)
        .current_dir(workspace_root())
        .args(["build", "--workspace", "--bin", "lithair-server", "--examples"])
        .args(["--profile", &profile, "--message-format", "json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        bail!("building lithair-server failed ({})", output.status);
    }
    executable_from_cargo_messages(&String::from_utf8_lossy(&output.stdout))
        .context("cargo built lithair-server but did not say where the executable is")
}

/// The cargo profile this program was built with, from where it lives: tests are in
/// `<target>/<profile dir>/deps/`, binaries in `<target>/<profile dir>/`; the `dev` profile's
/// directory is `debug`.
fn current_profile() -> anyhow::Result<String> {
    let profile_dir = profile_dir().context("this program is not in a cargo target directory")?;
    let name = profile_dir.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    Ok(match name {
        "debug" => "dev".to_string(),
        other => other.to_string(),
    })
}

fn profile_dir() -> Option<PathBuf> {
    let exe = env::current_exe().ok()?;
    let dir = exe.parent()?;
    let dir = if dir.file_name()? == "deps" { dir.parent()? } else { dir };
    Some(dir.to_owned())
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is in the workspace")
        .to_owned()
}

fn executable_from_cargo_messages(messages: &str) -> Option<PathBuf> {
    messages.lines().rev().find_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        let is_server = message["reason"] == "compiler-artifact"
            && message["target"]["name"] == "lithair-server"
            && message["target"]["kind"].as_array()?.iter().any(|kind| kind == "bin");
        let executable = message["executable"].as_str().map(PathBuf::from);
        executable.filter(|_| is_server)
    })
}

/// The cargo target directory (reports go in `<target>/cucumber/` and `<target>/bench/`).
pub fn target_dir() -> PathBuf {
    let from_exe = profile_dir().and_then(|dir| dir.parent().map(Path::to_owned));
    from_exe.filter(|dir| dir.is_dir()).unwrap_or_else(|| workspace_root().join("target"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"lithair-core","kind":["lib"]},"executable":null}
{"reason":"compiler-artifact","target":{"name":"lithair-server","kind":["lib"]},"executable":null}
{"reason":"compiler-artifact","target":{"name":"lithair-server","kind":["bin"]},"executable":"/t/debug/lithair-server"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable_from_cargo_messages(messages),
            Some(PathBuf::from("/t/debug/lithair-server"))
        );
        assert_eq!(executable_from_cargo_messages("{}"), None);
    }
}
