//! Out of file descriptors: accepting fails with EMFILE, and the server must neither crash nor
//! spin, and serve again once descriptors are free. A test binary of its own because it lowers the
//! whole process's descriptor limit.

mod common;

use std::time::Duration;

use common::*;
use rawhttp::*;
use tokio::net::TcpStream;

fn set_open_files_limit(limit: u64) {
    let mut current = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain system calls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut current), 0);
        current.rlim_cur = limit.min(current.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &current), 0);
    }
}

fn open_files() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_does_not_crash_the_server() {
    let server = TestServer::start().await;
    let request = b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    assert_eq!(
        send_then_read(server.addr, request, Duration::from_secs(3))
            .await
            .unwrap()
            .response()
            .unwrap()
            .status,
        200
    );

    let normal = open_files() + 4096;
    set_open_files_limit(open_files() + 40);
    let mut clients = Vec::new();
    while clients.len() < 1000 {
        match TcpStream::connect(server.addr).await {
            Ok(stream) => clients.push(stream),
            Err(_) => break, // the client side is out of descriptors too
        }
    }
    // The kernel queues the rest; the server's accept fails meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(clients);
    set_open_files_limit(normal);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let outcome = send_then_read(server.addr, request, Duration::from_secs(3)).await.unwrap();
        if outcome.response().is_some_and(|r| r.status == 200) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the server serves again: {outcome:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
}
