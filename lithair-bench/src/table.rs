//! What the benchmark reports, as data: groups of rows in the order of docs/performance.md
//! (throughput ratios, latency at 1 connection, tail latency, peers), each row a figure or a ratio
//! of figures of the same run, with its goal if it has one. Over several runs a row shows the
//! spread (min–max) and a goal is met only if every run met it.

use serde_json::{Value, json};

use crate::{figures::Figures, options::Options};

pub struct Group {
    pub title: String,
    pub rows: Vec<Row>,
}

pub struct Row {
    pub label: String,
    pub unit: Unit,
    pub source: Source,
    pub goal: Option<Goal>,
}

#[derive(Clone, Copy)]
pub enum Unit {
    PerSecond,
    Ms,
    Seconds,
    Ratio,
    Count,
}

/// A figure, or one figure divided by the sum of others (all from the same run).
pub enum Source {
    Figure(String),
    Ratio(String, Vec<String>),
}

#[derive(Clone, Copy)]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Source {
    pub fn value(&self, figures: &Figures) -> Option<f64> {
        match self {
            Source::Figure(name) => figures.get(name),
            Source::Ratio(numerator, denominator) => {
                let sum = denominator.iter().map(|name| figures.get(name)).sum::<Option<f64>>()?;
                Some(figures.get(numerator)? / sum).filter(|ratio| ratio.is_finite())
            }
        }
    }
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::AtLeast(goal) => value >= goal,
            Goal::AtMost(goal) => value <= goal,
        }
    }
}

impl std::fmt::Display for Goal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Goal::AtLeast(goal) => write!(f, "≥ {goal}"),
            Goal::AtMost(goal) => write!(f, "≤ {goal}"),
        }
    }
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::PerSecond => format!("{value:.0}"),
            Unit::Ms | Unit::Seconds => format!("{value:.3}"),
            Unit::Ratio => format!("{value:.2}"),
            Unit::Count => format!("{value:.0}"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::PerSecond => "/s",
            Unit::Ms => "ms",
            Unit::Seconds => "s",
            Unit::Ratio | Unit::Count => "",
        }
    }
}

fn row(label: &str, unit: Unit, source: Source, goal: Option<Goal>) -> Row {
    Row { label: label.to_string(), unit, source, goal }
}

fn rate(label: &str, name: &str) -> Row {
    row(label, Unit::PerSecond, Source::Figure(name.into()), None)
}

fn ms(label: &str, name: &str) -> Row {
    row(label, Unit::Ms, Source::Figure(name.into()), None)
}

/// The tail goal: no write may wait 100 ms.
fn stall(label: &str, name: &str) -> Row {
    row(
        &format!("{label} (no 100 ms stall)"),
        Unit::Ms,
        Source::Figure(name.into()),
        Some(Goal::AtMost(100.0)),
    )
}

fn ratio(label: &str, over: &str, under: &[&str], goal: Option<Goal>) -> Row {
    let under = under.iter().map(|name| name.to_string()).collect();
    row(label, Unit::Ratio, Source::Ratio(over.into(), under), goal)
}

/// The harness's load generator against wrk on the same measurement (`fsync.post`…).
fn loadgen_over_wrk(label: &str, measurement: &str) -> Row {
    let (loadgen, wrk) = (format!("{measurement}.loadgen.rps"), format!("{measurement}.rps"));
    ratio(label, &loadgen, &[&wrk], Some(Goal::AtLeast(0.8)))
}

/// The benchmark's table, as docs/performance.md describes it: with `--only-cluster`, only the
/// cluster's group.
pub fn groups(options: &Options) -> Vec<Group> {
    let mut groups = if options.only_cluster { Vec::new() } else { single_server(options) };
    if options.cluster {
        groups.push(cluster(options));
    }
    groups
}

/// The cluster's figures (issue 23), each against the single server or etcd of the same run.
fn cluster(options: &Options) -> Group {
    use Goal::{AtLeast, AtMost};
    let (c, kills) = (options.connections, options.failover_kills);
    Group {
        title: format!(
            "Cluster of 3, --durability fsync (wrk -c{c} on the leader, {} s)",
            options.seconds
        ),
        rows: vec![
            rate(
                &format!("single server POST fsync ({} s)", options.tail_seconds),
                "fsync.post.rps",
            ),
            rate("cluster POST", "cluster.post.rps"),
            rate("etcd 3 members PUT (JSON gateway, leader)", "etcd3.put.rps"),
            ratio(
                "cluster POST ÷ single server POST",
                "cluster.post.rps",
                &["fsync.post.rps"],
                Some(AtLeast(0.25)),
            ),
            ratio(
                "cluster POST ÷ etcd 3 members PUT",
                "cluster.post.rps",
                &["etcd3.put.rps"],
                Some(AtLeast(2.0)),
            ),
            ms("cluster POST p99", "cluster.post.p99_ms"),
            ms("etcd 3 members PUT p99", "etcd3.put.p99_ms"),
            ratio(
                "cluster POST p99 ÷ etcd PUT p99",
                "cluster.post.p99_ms",
                &["etcd3.put.p99_ms"],
                Some(AtMost(1.0)),
            ),
            row(
                &format!("failover: kill → first write, median of {kills}"),
                Unit::Ms,
                Source::Figure("cluster.failover.median_ms".into()),
                Some(AtMost(1500.0)),
            ),
            row(
                &format!("failover: kill → first write, max of {kills}"),
                Unit::Ms,
                Source::Figure("cluster.failover.max_ms".into()),
                Some(AtMost(3000.0)),
            ),
            ms("etcd failover, median", "etcd3.failover.median_ms"),
            ms("etcd failover, max", "etcd3.failover.max_ms"),
            row(
                &format!("leader changes in {} s of load", options.steady_seconds),
                Unit::Count,
                Source::Figure("cluster.steady.leader_changes".into()),
                Some(AtMost(0.0)),
            ),
            row(
                &format!("join of a node to {} events: serving", options.join_events),
                Unit::Seconds,
                Source::Figure("join.seconds".into()),
                Some(AtMost(10.0)),
            ),
        ],
    }
}

/// The single server's groups, and its peers'.
fn single_server(options: &Options) -> Vec<Group> {
    use Goal::{AtLeast, AtMost};
    let c = options.connections;
    vec![
        Group {
            title: format!("Throughput at {c} connections (wrk -c{c}, {} s)", options.seconds),
            rows: vec![
                rate("GET /health (fsync server)", "fsync.health.rps"),
                rate(&format!("POST fsync ({} s)", options.tail_seconds), "fsync.post.rps"),
                ratio(
                    "POST fsync ÷ /health",
                    "fsync.post.rps",
                    &["fsync.health.rps"],
                    Some(AtLeast(0.6)),
                ),
                rate("GET /health (flush server)", "flush.health.rps"),
                rate("POST flush", "flush.post.rps"),
                ratio(
                    "POST flush ÷ /health",
                    "flush.post.rps",
                    &["flush.health.rps"],
                    Some(AtLeast(0.8)),
                ),
                rate("GET /health (async server)", "async.health.rps"),
                rate("POST async", "async.post.rps"),
                ratio("POST async ÷ /health", "async.post.rps", &["async.health.rps"], None),
                ratio(
                    "POST async ÷ POST flush (taking turns)",
                    "turns.async.post.rps",
                    &["turns.flush.post.rps"],
                    Some(AtLeast(1.0)),
                ),
                rate("GET /api/articles/{id}", "fsync.get.rps"),
                ratio(
                    "GET by id ÷ /health (taking turns)",
                    "turns.get.rps",
                    &["turns.health.rps"],
                    Some(AtLeast(0.9)),
                ),
            ],
        },
        Group {
            title: format!("Harness load generator ÷ wrk, {c} connections, same server"),
            rows: vec![
                loadgen_over_wrk("GET /health", "fsync.health"),
                loadgen_over_wrk("POST fsync", "fsync.post"),
                loadgen_over_wrk("POST flush", "flush.post"),
                loadgen_over_wrk("POST async", "async.post"),
                loadgen_over_wrk("GET by id", "fsync.get"),
                rate("loadgen GET /health", "fsync.health.loadgen.rps"),
                rate("loadgen POST fsync", "fsync.post.loadgen.rps"),
                ratio(
                    "loadgen POST fsync ÷ loadgen /health",
                    "fsync.post.loadgen.rps",
                    &["fsync.health.loadgen.rps"],
                    None,
                ),
                ms("loadgen POST fsync p99 (closed loop)", "fsync.post.loadgen.p99_ms"),
            ],
        },
        Group {
            title: "Latency at 1 connection (wrk -t1 -c1)".to_string(),
            rows: vec![
                ms("fdatasync of 300 bytes, p50", "disk.fdatasync.p50_ms"),
                ms("fdatasync of 300 bytes, p99", "disk.fdatasync.p99_ms"),
                ms("GET /health p50", "fsync.health.1conn.p50_ms"),
                ms("POST fsync p50", "fsync.post.1conn.p50_ms"),
                ratio(
                    "POST fsync p50 ÷ (fdatasync + /health p50)",
                    "fsync.post.1conn.p50_ms",
                    &["disk.fdatasync.p50_ms", "fsync.health.1conn.p50_ms"],
                    Some(AtMost(1.5)),
                ),
            ],
        },
        Group {
            title: format!("Tail latency (wrk --latency; Redis at {c} connections too)"),
            rows: vec![
                ms(
                    &format!("POST fsync p99, {c} conn, {} s", options.tail_seconds),
                    "fsync.post.p99_ms",
                ),
                ms("Redis SET always p99, same span", "redis.set_always.p99_ms"),
                ratio(
                    "POST fsync p99 ÷ Redis SET always p99",
                    "fsync.post.p99_ms",
                    &["redis.set_always.p99_ms"],
                    Some(AtMost(2.0)),
                ),
                // The HTTP stack's own tail, without storage: wrk's and the server's threads
                // share the cores (Redis and redis-benchmark run one thread each), which puts a
                // floor under every HTTP p99 here.
                ms(&format!("GET /health p99, {c} conn (fsync server)"), "fsync.health.p99_ms"),
                ratio(
                    "GET /health p99 ÷ Redis SET always p99",
                    "fsync.health.p99_ms",
                    &["redis.set_always.p99_ms"],
                    None,
                ),
                // The slowest write of each, and of a lone fdatasync: a stall of the disk holds
                // up every client at once, so it is in the maximum even when too rare for p99.
                ms(
                    &format!("POST fsync max, {c} conn, {} s", options.tail_seconds),
                    "fsync.post.max_ms",
                ),
                ms("Redis SET always max, same span", "redis.set_always.max_ms"),
                ms("fdatasync of 300 bytes alone, max", "disk.fdatasync.max_ms"),
                ms("POST fsync p99, 100 conn", "fsync.post.100conn.p99_ms"),
                ms("POST flush p99, 100 conn", "flush.post.100conn.p99_ms"),
                ms("GET by id p99, 100 conn", "fsync.get.100conn.p99_ms"),
                stall("POST fsync max, 100 conn", "fsync.post.100conn.max_ms"),
                stall("POST flush max, 100 conn", "flush.post.100conn.max_ms"),
                ms("GET by id max, 100 conn", "fsync.get.100conn.max_ms"),
            ],
        },
        Group {
            title: format!("Peers at {c} connections (redis-benchmark -d 100; etcd PUT with wrk)"),
            rows: vec![
                rate("Redis SET appendfsync always", "redis.set_always.rps"),
                rate("Redis SET appendfsync everysec", "redis.set_everysec.rps"),
                rate("Redis GET", "redis.get.rps"),
                rate("etcd PUT (JSON gateway)", "etcd.put.rps"),
                ratio(
                    "POST fsync ÷ Redis SET always",
                    "fsync.post.rps",
                    &["redis.set_always.rps"],
                    Some(AtLeast(1.2)),
                ),
                ratio(
                    "POST flush ÷ Redis SET everysec",
                    "flush.post.rps",
                    &["redis.set_everysec.rps"],
                    None,
                ),
                ratio("GET by id ÷ Redis GET", "fsync.get.rps", &["redis.get.rps"], None),
                ratio("POST fsync ÷ etcd PUT", "fsync.post.rps", &["etcd.put.rps"], None),
            ],
        },
        Group {
            title: format!("Restart on a {}-event log", options.restart_events),
            rows: vec![
                row(
                    "events loaded per second",
                    Unit::PerSecond,
                    Source::Figure("restart.events_per_second".into()),
                    Some(AtLeast(1_000_000.0)),
                ),
                row(
                    "spawn to healthy",
                    Unit::Seconds,
                    Source::Figure("restart.spawn_to_healthy_seconds".into()),
                    None,
                ),
            ],
        },
    ]
}

/// A row's value in each run (`None` where it was not measured), and its verdict.
struct Outcome {
    values: Vec<Option<f64>>,
    measured: Vec<f64>,
    verdict: String,
}

fn outcome(row: &Row, runs: &[Figures]) -> Outcome {
    let values: Vec<Option<f64>> = runs.iter().map(|figures| row.source.value(figures)).collect();
    let measured: Vec<f64> = values.iter().flatten().copied().collect();
    let verdict = match row.goal {
        None => String::new(),
        Some(_) if measured.is_empty() => "not measured".to_string(),
        Some(goal) => match measured.iter().filter(|value| goal.met(**value)).count() {
            met if met == measured.len() => "ok".to_string(),
            0 => "MISSED".to_string(),
            met => format!("MISSED in {} of {}", measured.len() - met, measured.len()),
        },
    };
    Outcome { values, measured, verdict }
}

fn spread(row: &Row, measured: &[f64]) -> String {
    let min = measured.iter().copied().reduce(f64::min);
    let max = measured.iter().copied().reduce(f64::max);
    match (min, max) {
        (Some(min), Some(max)) if measured.len() > 1 => {
            format!("{}–{}", row.unit.format(min), row.unit.format(max))
        }
        (Some(value), _) => row.unit.format(value),
        _ => "-".to_string(),
    }
}

pub fn print(groups: &[Group], runs: &[Figures]) {
    let value_title =
        if runs.len() > 1 { format!("min–max of {} runs", runs.len()) } else { "value".into() };
    println!("\n{:<46} {:>22} {:>3}  {:<10} verdict", "", value_title, "", "goal");
    for group in groups {
        println!("{}", group.title);
        for row in &group.rows {
            let outcome = outcome(row, runs);
            let goal = row.goal.map_or(String::new(), |goal| goal.to_string());
            println!(
                "  {:<44} {:>22} {:>3}  {:<10} {}",
                row.label,
                spread(row, &outcome.measured),
                row.unit.name(),
                goal,
                outcome.verdict
            );
        }
    }
}

pub fn to_json(groups: &[Group], runs: &[Figures]) -> Value {
    let rows = groups.iter().flat_map(|group| {
        group.rows.iter().map(|row| {
            let outcome = outcome(row, runs);
            json!({
                "group": group.title,
                "label": row.label,
                "unit": row.unit.name(),
                "values": outcome.values,
                "min": outcome.measured.iter().copied().reduce(f64::min),
                "max": outcome.measured.iter().copied().reduce(f64::max),
                "goal": row.goal.map(|goal| goal.to_string()),
                "verdict": outcome.verdict,
            })
        })
    });
    Value::Array(rows.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[(&str, f64)]) -> Figures {
        let mut figures = Figures::default();
        for (name, value) in values {
            figures.set(*name, *value);
        }
        figures
    }

    #[test]
    fn a_goal_is_met_only_if_every_run_met_it() {
        let row = ratio("POST ÷ /health", "post", &["health"], Some(Goal::AtLeast(0.6)));
        let good = run(&[("post", 70.0), ("health", 100.0)]);
        let bad = run(&[("post", 50.0), ("health", 100.0)]);
        assert_eq!(outcome(&row, std::slice::from_ref(&good)).verdict, "ok");
        assert_eq!(outcome(&row, std::slice::from_ref(&bad)).verdict, "MISSED");
        let both = outcome(&row, &[good, bad]);
        assert_eq!(both.verdict, "MISSED in 1 of 2");
        assert_eq!(spread(&row, &both.measured), "0.50–0.70");
        assert_eq!(outcome(&row, &[Figures::default()]).verdict, "not measured");
    }

    #[test]
    fn only_cluster_keeps_the_cluster_group_alone() {
        let args = |extra: &[&str]| extra.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let only = Options::parse(args(&["--only-cluster"]).into_iter()).unwrap();
        let titles: Vec<String> = groups(&only).into_iter().map(|group| group.title).collect();
        assert_eq!(titles.len(), 1);
        assert!(titles[0].starts_with("Cluster of 3"), "{titles:?}");
        let all = groups(&Options::parse(args(&[]).into_iter()).unwrap());
        let none = groups(&Options::parse(args(&["--no-cluster"]).into_iter()).unwrap());
        assert_eq!(all.len(), none.len() + 1);
        assert!(Options::parse(args(&["--only-cluster", "--no-cluster"]).into_iter()).is_err());
    }

    #[test]
    fn a_ratio_can_be_over_a_sum_of_figures() {
        let row = ratio("p50 ÷ (sync + trip)", "post", &["sync", "trip"], Some(Goal::AtMost(1.5)));
        let figures = run(&[("post", 3.0), ("sync", 1.5), ("trip", 0.5)]);
        assert_eq!(row.source.value(&figures), Some(1.5));
        assert_eq!(outcome(&row, &[figures]).verdict, "ok");
        assert_eq!(row.source.value(&run(&[("post", 3.0), ("sync", 1.5)])), None);
    }
}
