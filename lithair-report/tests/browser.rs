//! The fixture run's report opened in headless Chromium, the way a product owner opens it: it
//! loads without console errors, draws something, and shows every scenario and the failure.
//! Skipped, saying why, only where no Chromium is installed (`.ci/run` installs it).

mod common;

use std::{
    collections::HashSet,
    fs::File,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use common::{FINDING_CHECK, cluster_report, fixture_report, scenario_names};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// A page that blocks (a script's `alert()` waits for a click forever) must fail the test,
/// not hang it.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);

/// What the browser printed.
struct Output {
    stdout: String,
    stderr: String,
}

/// Runs the browser on `page` with a fresh profile and everything that would reach the
/// network or the desktop turned off.
fn browse(browser: &Path, page: &Path, args: &[&str]) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let (out, err) = (scratch.path().join("stdout"), scratch.path().join("stderr"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", scratch.path().join("profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("the browser starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_DEADLINE {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the browser did not finish with the page within {BROWSER_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = Output {
        stdout: std::fs::read_to_string(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
    };
    assert!(status.success(), "{}", output.stderr);
    output
}

#[test]
fn the_report_renders_in_a_real_browser() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: no chromium on PATH (`apt-get install chromium`, as .ci/run does)");
        return;
    };
    let (dir, page) = fixture_report();

    let shot = dir.path().join("shot.png");
    // The page has no script at all (tests/report.rs checks), so what renders here is what
    // a browser with JavaScript disabled renders.
    let output = browse(
        &browser,
        &page,
        &["--window-size=1200,1600", &format!("--screenshot={}", shot.display())],
    );
    let log = &output.stderr;
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(distinct_colours(&shot) > 16, "the screenshot is not blank");

    let output = browse(&browser, &page, &["--dump-dom"]);
    assert!(!output.stderr.contains(":CONSOLE"), "console messages: {}", output.stderr);
    let dom = output.stdout;
    assert!(dom.contains(r#"id="verdict">FAILED: 1 of 5 scenarios failed</p>"#), "the verdict");
    for name in scenario_names() {
        assert!(dom.contains(&as_text_node(&name)), "scenario {name:?} is in the DOM");
    }
    assert!(!dom.contains("<script"), "a scenario named <script> stays text");
    let failed =
        dom.find(r#"<details class="scenario failed" open="">"#).expect("the failure is open");
    let error = dom
        .find("2 acknowledged writes are missing: ids [17, 42] &lt;lost&gt;")
        .expect("its error");
    assert!(failed < error);
    assert!(dom.matches("<svg").count() >= 3, "the charts are in the DOM");
}

/// A cluster scenario's timeline: no console message, a
/// screenshot with colour in it, and in the DOM the chart with its faults, lanes and finding.
/// Set `LITHAIR_SCREENSHOT_DIR` to keep the screenshot (`cluster.png`) and the page to look at.
#[test]
fn a_cluster_timeline_renders_in_a_real_browser() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: no chromium on PATH (`apt-get install chromium`, as .ci/run does)");
        return;
    };
    let (dir, page) = cluster_report(3_000);
    let shot = dir.path().join("cluster.png");
    // Tall enough for the whole page: headless Chromium does not scroll to a `#fragment`
    // before its screenshot.
    let output = browse(
        &browser,
        &page,
        &["--window-size=1100,4000", &format!("--screenshot={}", shot.display())],
    );
    let console: Vec<&str> = output.stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    if let Some(keep) = std::env::var_os("LITHAIR_SCREENSHOT_DIR") {
        std::fs::copy(&shot, Path::new(&keep).join("cluster.png")).unwrap();
        std::fs::copy(&page, Path::new(&keep).join("cluster.html")).unwrap();
    }
    assert!(distinct_colours(&shot) > 16, "the screenshot is not blank");

    let dom = browse(&browser, &page, &["--dump-dom"]).stdout;
    let section = &dom[dom.find(r#"<section id="cluster">"#).expect("the cluster section")..];
    assert!(section.contains(FINDING_CHECK), "the failed check");
    assert!(section.contains(r#"class="timeline""#), "the timeline");
    assert_eq!(section.matches(r#"<g class="fault">"#).count(), 2, "the fault windows");
    assert!(section.contains(">node 3</text>"), "the role lanes");
}

/// How many colours the PNG has (up to a few hundred): a blank page has one.
fn distinct_colours(png_path: &Path) -> usize {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let bytes = frame.color_type.samples() * usize::from(frame.bit_depth as u8).div_ceil(8);
    let mut colours = HashSet::new();
    for pixel in buf[..frame.buffer_size()].chunks(bytes.max(1)) {
        colours.insert(pixel.to_vec());
        if colours.len() > 256 {
            break;
        }
    }
    colours.len()
}

/// `text` as an HTML serializer writes a text node.
fn as_text_node(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
