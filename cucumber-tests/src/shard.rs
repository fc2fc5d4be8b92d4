//! `--shard I/N`: which scenarios of a run machine I of N runs, when a suite outgrows one CI
//! machine.
//!
//! Assignment is a pure function of the selection (and of the durations the previous runs
//! recorded), so N machines that each compute it from the same checkout agree without talking:
//! every scenario lands on exactly one shard, and the union of the N shards is the whole run.
//!
//! - Shards are balanced greedily: longest scenario first, each onto the shard with the least
//!   time so far (LPT, within 4/3 of the best split). Durations come from the previous runs
//!   (`target/cucumber/history/`); a scenario without one counts as the median of the known,
//!   and with none known every scenario counts the same, which splits them evenly by count
//!   in the order of their keys (not a hash: 84 scenarios hashed into 3 shards gave 28/37/19).
//! - `@serial` scenarios run alone, one after the other, while the others overlap; a shard's
//!   time is its serial sum plus its concurrent share, so the two kinds are balanced apart and
//!   each shard gets an even share of both.

use std::{collections::BTreeMap, fmt, str::FromStr};

/// Shard `index` of `count`, 1-based as written on the command line (`--shard 2/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The base name of this shard's reports: `shard-2-of-3`.
    pub fn name(self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wrong = || format!("--shard {text}: expected I/N with 1 <= I <= N, e.g. 2/3");
        let (index, count) = text.split_once('/').ok_or_else(wrong)?;
        let index: usize = index.trim().parse().map_err(|_| wrong())?;
        let count: usize = count.trim().parse().map_err(|_| wrong())?;
        if count == 0 || index == 0 || index > count {
            return Err(wrong());
        }
        Ok(Shard { index, count })
    }
}

/// One scenario of the selection, as sharding sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `features/crud.feature: Create an article`: its feature file and name, the key its
    /// duration is recorded under (`lithair_report::history::scenario_key`). Two scenarios
    /// with one key (an outline's examples) still go to shards one by one.
    pub key: String,
    /// Runs alone (`@serial` on it, its rule or its feature).
    pub serial: bool,
    /// Its duration in the previous runs, when known.
    pub secs: Option<f64>,
}

/// For each item, in order, the 0-based shard of `count` that runs it.
pub fn assign(items: &[Item], count: usize) -> Vec<usize> {
    assert!(count > 0, "a run has at least one shard");
    let mut known: Vec<f64> = items.iter().filter_map(|item| item.secs).collect();
    known.sort_by(f64::total_cmp);
    let median = known.get(known.len() / 2).copied().unwrap_or(1.0);
    let mut shards = vec![0; items.len()];
    for serial in [true, false] {
        // Longest first; ties by key then position, so the order (and the split) is the same
        // on every machine.
        let mut group: Vec<(usize, f64)> = (0..items.len())
            .filter(|&i| items[i].serial == serial)
            .map(|i| (i, items[i].secs.unwrap_or(median)))
            .collect();
        group.sort_by(|(a, secs_a), (b, secs_b)| {
            secs_b.total_cmp(secs_a).then_with(|| items[*a].key.cmp(&items[*b].key)).then(a.cmp(b))
        });
        let mut load = vec![0.0_f64; count];
        for (i, secs) in group {
            let lightest = (0..count).min_by(|&x, &y| load[x].total_cmp(&load[y])).unwrap_or(0);
            load[lightest] += secs;
            shards[i] = lightest;
        }
    }
    shards
}

/// The items `shard` runs (the indices into `items`).
pub fn select(items: &[Item], shard: Shard) -> Vec<usize> {
    let assigned = assign(items, shard.count);
    (0..items.len()).filter(|&i| assigned[i] == shard.index - 1).collect()
}

/// Durations by key, from the newest entry that knows each (`recorded` newest last).
pub fn latest_durations<'a>(
    recorded: impl IntoIterator<Item = &'a BTreeMap<String, f64>>,
) -> BTreeMap<String, f64> {
    let mut latest = BTreeMap::new();
    for durations in recorded {
        latest.extend(durations.iter().map(|(key, secs)| (key.clone(), *secs)));
    }
    latest
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn key(feature: &str, scenario: &str) -> String {
        format!("{feature}: {scenario}")
    }

    fn items(count: usize, secs: impl Fn(usize) -> Option<f64>) -> Vec<Item> {
        (0..count)
            .map(|i| Item {
                key: key(&format!("features/f{}.feature", i % 7), &format!("scenario {i}")),
                serial: i % 5 == 0,
                secs: secs(i),
            })
            .collect()
    }

    /// Every shard of every split, with and without durations: disjoint, and together the
    /// whole selection.
    fn assert_partition(items: &[Item]) {
        for count in 1..=7 {
            let mut seen = BTreeSet::new();
            for index in 1..=count {
                for i in select(items, Shard { index, count }) {
                    assert!(seen.insert(i), "item {i} is on two shards of {count}");
                }
            }
            assert_eq!(seen, (0..items.len()).collect(), "{count} shards miss an item");
        }
    }

    #[test]
    fn shards_are_disjoint_and_cover_the_whole_selection() {
        assert_partition(&items(61, |_| None));
        assert_partition(&items(61, |i| Some(1.0 + (i * 37 % 11) as f64))); // all known
        assert_partition(&items(61, |i| (i % 3 != 0).then_some(i as f64))); // some known
        assert_partition(&items(2, |_| None)); // fewer scenarios than shards
        assert_partition(&[]);
    }

    #[test]
    fn the_split_is_deterministic() {
        let with = items(40, |i| Some((i * 13 % 17) as f64));
        let without = items(40, |_| None);
        assert_eq!(assign(&with, 3), assign(&with.clone(), 3));
        assert_eq!(assign(&without, 3), assign(&without.clone(), 3));
        // Nor does it depend on the order scenarios are listed in.
        let mut reversed = without.clone();
        reversed.reverse();
        let by_key = |items: &[Item]| {
            let shards = assign(items, 3);
            items.iter().map(|i| i.key.clone()).zip(shards).collect::<BTreeMap<_, _>>()
        };
        assert_eq!(by_key(&without), by_key(&reversed));
    }

    #[test]
    fn without_durations_shards_get_even_counts_of_each_kind() {
        let all = items(61, |_| None); // 13 serial, 48 others
        let shards = assign(&all, 4);
        for shard in 0..4 {
            let of = |serial: bool| {
                (0..61).filter(|&i| shards[i] == shard && all[i].serial == serial).count()
            };
            let (serial, other) = (of(true), of(false));
            assert!((3..=4).contains(&serial) && other == 12, "shard {shard}: {serial} + {other}");
        }
    }

    #[test]
    fn known_durations_balance_the_shards() {
        // One long scenario, then many short ones: a hash split would be lopsided by chance;
        // LPT gives the long one a shard of its own share.
        let mut all: Vec<Item> = (0..30)
            .map(|i| Item {
                key: key("features/a.feature", &format!("s{i}")),
                serial: false,
                secs: Some(1.0),
            })
            .collect();
        all.push(Item { key: key("features/a.feature", "long"), serial: false, secs: Some(10.0) });
        let shards = assign(&all, 4);
        let mut load = [0.0; 4];
        for (item, shard) in all.iter().zip(&shards) {
            load[*shard] += item.secs.unwrap();
        }
        // 40 s in 4 shards: 10 each, exactly.
        assert_eq!(load, [10.0; 4], "{shards:?}");
    }

    #[test]
    fn serial_scenarios_are_balanced_apart() {
        // 4 serial scenarios of 5 s and 4 concurrent of 5 s over 2 shards: each shard gets two
        // of each kind, not all the serial ones on one side.
        let all: Vec<Item> = (0..8)
            .map(|i| Item {
                key: key("features/b.feature", &format!("s{i}")),
                serial: i < 4,
                secs: Some(5.0),
            })
            .collect();
        let shards = assign(&all, 2);
        for shard in 0..2 {
            let serial = (0..8).filter(|&i| shards[i] == shard && all[i].serial).count();
            let other = (0..8).filter(|&i| shards[i] == shard && !all[i].serial).count();
            assert_eq!((serial, other), (2, 2), "shard {shard}: {shards:?}");
        }
    }

    #[test]
    fn an_unknown_scenario_counts_as_the_median() {
        let all = vec![
            Item { key: "a".into(), serial: false, secs: Some(1.0) },
            Item { key: "b".into(), serial: false, secs: Some(3.0) },
            Item { key: "c".into(), serial: false, secs: Some(100.0) },
            Item { key: "new".into(), serial: false, secs: None },
        ];
        // 100 alone; 3, the new one (as 3) and 1 on the other.
        assert_eq!(assign(&all, 2), vec![1, 1, 0, 1]);
    }

    #[test]
    fn shard_parses_as_written() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(Shard { index: 2, count: 3 }.name(), "shard-2-of-3");
        for wrong in ["0/3", "4/3", "1/0", "3", "a/b", ""] {
            assert!(wrong.parse::<Shard>().is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_newest_duration_wins() {
        let old = BTreeMap::from([("a".to_string(), 1.0), ("b".to_string(), 2.0)]);
        let new = BTreeMap::from([("a".to_string(), 5.0)]);
        let latest = latest_durations([&old, &new]);
        assert_eq!(latest, BTreeMap::from([("a".to_string(), 5.0), ("b".to_string(), 2.0)]));
    }
}
