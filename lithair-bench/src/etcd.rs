//! etcd as the peer of a replicated-log database: one node, every PUT written to its WAL and
//! `fdatasync`ed before the answer. Measured with `wrk` through etcd's HTTP/JSON gateway
//! (`POST /v3/kv/put`, key and value in base64), so that it goes through an HTTP stack as
//! Lithair's writes do.

use std::{path::Path, process::Command};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;

use crate::{
    figures::Figures,
    peer::{self, Peer},
    wrk::Wrk,
};

/// Distinct keys the PUTs cycle over, each with a 100-byte value (as the Redis SETs).
const KEYS: usize = 1000;

pub fn installed() -> bool {
    peer::installed("etcd")
}

pub fn measure(work: &Path, wrk: Wrk, figures: &mut Figures) -> anyhow::Result<()> {
    let version = Command::new("etcd").arg("--version").output()?;
    let version = String::from_utf8_lossy(&version.stdout);
    figures.detail("etcd.version", json!(version.lines().next().unwrap_or_default()));
    let dir = work.join("etcd");
    std::fs::create_dir_all(&dir)?;
    let (port, peer_port) = (peer::free_port()?, peer::free_port()?);
    let client_url = format!("http://127.0.0.1:{port}");
    let mut command = Command::new("etcd");
    command
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--listen-client-urls", &client_url, "--advertise-client-urls", &client_url])
        .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer_port}")]);
    let command_line = peer::command_line(&command);
    let _etcd = Peer::start("etcd", command, &dir.join("etcd.log"), port)?;
    let put = wrk.run(&format!("{client_url}/v3/kv/put"), Some(&put_script()))?;
    println!("  etcd PUT with wrk: {}", put.summary());
    put.record(figures, "etcd.put");
    figures.detail(
        "etcd.commands",
        json!([
            command_line,
            format!(
                "wrk -t{} -c{} -d{}s --latency -s put.lua {client_url}/v3/kv/put",
                wrk.threads, wrk.connections, wrk.seconds
            )
        ]),
    );
    Ok(())
}

/// The wrk script: POST `{"key": …, "value": …}` with keys cycling over `KEYS`.
pub fn put_script() -> String {
    let keys: Vec<String> =
        (0..KEYS).map(|i| format!("\"{}\"", STANDARD.encode(format!("bench-key-{i}")))).collect();
    let value = STANDARD.encode([b'x'; 100]);
    format!(
        "wrk.method = \"POST\"\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n\
         local keys = {{{}}}\n\
         local i = 0\n\
         request = function()\n\
         \x20 i = i % #keys + 1\n\
         \x20 return wrk.format(nil, nil, nil, '{{\"key\":\"' .. keys[i] .. '\",\"value\":\"{value}\"}}')\n\
         end\n",
        keys.join(",")
    )
}
