//! A cluster scenario's section, checked as HTML text: the failed check's report first, the
//! timeline with its operations, shaded fault windows and role lanes, the legend, the same
//! facts as text, and a page that stays small with ten thousand operations.

mod common;

use common::{FINDING_CHECK, cluster_report};

fn cluster_section(html: &str) -> &str {
    let start = html.find(r#"<section id="cluster">"#).expect("a cluster section");
    &html[start..start + html[start..].find("</section>").unwrap()]
}

#[test]
fn the_failed_check_comes_first_with_its_report_escaped() {
    let (_dir, page) = cluster_report(3_000);
    let html = std::fs::read_to_string(page).unwrap();
    let section = cluster_section(&html);
    let finding = section.find(r#"<div class="finding">"#).expect("the finding");
    let svg = section.find("<svg").expect("the timeline");
    assert!(finding < svg, "the finding is above the chart");
    assert!(section.contains(&format!("The check failed: {FINDING_CHECK}")));
    assert!(
        section.contains("returned &lt;stale&gt; title\n  op 812 write  7 := &quot;b&quot;"),
        "the checker's report, in a pre, escaped"
    );
    assert!(section.contains(r#"<pre class="error">not linearizable"#));
    assert!(html.contains(r##"<a href="#cluster">Cluster</a>"##), "the nav links to it");
}

#[test]
fn the_timeline_draws_operations_by_outcome_and_kind() {
    let (_dir, page) = cluster_report(3_000);
    let html = std::fs::read_to_string(page).unwrap();
    let section = cluster_section(&html);
    assert_eq!(section.matches("<svg").count(), 1, "one timeline");
    assert!(section.contains(r#"class="timeline" role="img""#));
    assert!(section.contains("<title>a crash loses nothing acknowledged: 3000 operations over"));
    for class in ["ok-reads", "ok-writes", "failed-reads", "failed-writes", "no-answer"] {
        let at = section.find(&format!(r#"<path class="ops {class}" d="M"#));
        let path = &section[at.unwrap_or_else(|| panic!("a path of {class}"))..];
        let d = &path[..path.find("\" stroke").unwrap()];
        assert!(d.matches('M').count() >= 10, "{class} has marks: {}", d.matches('M').count());
    }
    assert!(section.contains("latency (ms, log scale)"), "latencies span four decades");
    assert!(section.contains(">no answer</text>"), "the band of unknown operations");
    // The same facts as text: 1/3 of the 6 s kill's 600 operations got no answer.
    assert!(section.contains(r#"<th class="num">no answer (unknown)</th>"#));
    let unknown: usize = ["reads", "writes"]
        .iter()
        .map(|what| {
            let row = &section[section.find(&format!("<td>{what}</td>")).unwrap()..];
            let cells: Vec<&str> = row.split("<td class=\"num\">").skip(1).take(3).collect();
            cells[2][..cells[2].find('<').unwrap()].replace(',', "").parse::<usize>().unwrap()
        })
        .sum();
    assert_eq!(unknown, 200);
}

#[test]
fn fault_windows_are_shaded_and_labelled_and_an_open_one_runs_to_the_end() {
    let (_dir, page) = cluster_report(3_000);
    let html = std::fs::read_to_string(page).unwrap();
    let section = cluster_section(&html);
    assert_eq!(section.matches(r#"<g class="fault">"#).count(), 2);
    assert!(section.contains("<title>kill 1 from 8.0 s to 14.0 s</title>"));
    assert!(section.contains("<title>isolate 2 from 20.0 s to the end</title>"));
    assert!(section.contains(">kill 1</text>") && section.contains(">isolate 2</text>"));
    let shade = |title: &str| -> (f64, f64, f64) {
        let g = &section[section.find(title).unwrap()..];
        let attr = |name: &str| -> f64 {
            let at = g.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            g[at..at + g[at..].find('"').unwrap()].parse().unwrap()
        };
        (attr("x"), attr("width"), attr("height"))
    };
    // The chart spans x = 70..944 from 0 s to the last completion, a little after 30 s.
    let (x, width, height) = shade("<title>kill 1");
    assert!((width / (x - 70.0) - 6.0 / 8.0).abs() < 0.01, "starts at 8 s, lasts 6 s: {x} {width}");
    let (isolate_x, _, _) = shade("<title>isolate 2");
    assert!(((isolate_x - 70.0) / (x - 70.0) - 20.0 / 8.0).abs() < 0.01, "isolate starts at 20 s");
    assert!(height > 300.0, "shaded across the operations and the lanes: {height}");
    let (x, width, _) = shade("<title>isolate 2");
    assert!((x + width - 944.0).abs() < 1.0, "an open window runs to the end: {}", x + width);
}

#[test]
fn each_node_has_a_lane_of_its_roles() {
    let (_dir, page) = cluster_report(3_000);
    let html = std::fs::read_to_string(page).unwrap();
    let section = cluster_section(&html);
    for node in 1..=3 {
        assert!(section.contains(&format!(">node {node}</text>")), "node {node}'s lane");
    }
    // Merged spans: node 1 leader, down, follower; node 2 follower, candidate, leader,
    // candidate; node 3 follower, leader.
    assert_eq!(section.matches(r#"<rect class="role""#).count(), 9);
    assert!(section.contains("<title>node 1: down from 8.0 s to 14.0 s</title>"));
    assert!(section.contains("<title>node 3: leader from 20.5 s to 3"), "to the end");
    for item in ["ok", "failed", "no answer", "read", "write", "leader", "candidate", "kill"] {
        assert!(section.contains(&format!(">{item}</text>")), "the legend names {item}");
    }
}

#[test]
fn ten_thousand_operations_keep_the_page_small() {
    let (_dir, page) = cluster_report(10_000);
    let html = std::fs::read_to_string(page).unwrap();
    let section = cluster_section(&html);
    eprintln!("cluster section: {} bytes, page: {} bytes", section.len(), html.len());
    assert!(section.len() < 160_000, "{} bytes", section.len());
    assert!(!html.to_lowercase().contains("<script"));
}
