//! Finding the `lithair-server` binary under test: the very program the README starts.
//!
//! The harness is a test of the `cucumber-tests` package, and cargo only builds a package's own
//! binaries for its tests. So the harness asks cargo itself to build `lithair-server` with the
//! same profile the harness was built with. After `cargo test --workspace` that is a no-op (the
//! binary is already fresh); after `cargo test -p cucumber-tests` alone it builds what is
//! missing. Either way the server under test is never stale. `LITHAIR_SERVER_BIN` overrides
//! the search, to test a binary built elsewhere.

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
        .args(["build", "--package", "lithair-server", "--bin", "lithair-server"])
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

/// The cargo profile this test binary was built with, from where it lives:
/// `<target>/<profile dir>/deps/<test>`; the `dev` profile's directory is `debug`.
fn current_profile() -> anyhow::Result<String> {
    let exe = env::current_exe().context("cannot locate the test binary")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .context("the test binary is not in a cargo target directory")?;
    Ok(match profile_dir {
        "debug" => "dev".to_string(),
        other => other.to_string(),
    })
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

/// Where reports go: `<target>/cucumber/`, next to the profile directories.
pub fn target_dir() -> PathBuf {
    let from_exe = env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_owned))
        .filter(|dir| dir.is_dir());
    from_exe.unwrap_or_else(|| workspace_root().join("target"))
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
