//! "Did you mean …?" for a step line no definition matches: which defined phrases are nearest,
//! and the step definition to paste when none is right ([`snippet`]).
//!
//! Both sides are reduced to the same alphabet before they are compared: a number in the
//! feature and `{int}`/`{float}` in a definition are one *number* token, quoted text and
//! `{string}` one *text* token, and any other parameter (`{word}`, `{durability}`, `{}`) a
//! token that stands for any one word. The distance is then an edit distance over words in
//! which replacing a word costs its normalised character distance (so `artcles` for `articles`
//! costs 0.125, an unrelated word about 1) and adding or removing a word costs half a word: a
//! typo ranks above a different sentence, a longer sentence that holds the same words ranks
//! above an unrelated one, and `I create 3 articles` is at distance 0 from
//! `I create {int} article(s)`.
//!
//! Definitions are registered as regexes; [`phrase_of_regex`] turns the ones cucumber's
//! expression compiler wrote back into the Cucumber expression a developer typed, so the
//! suggestion reads like the step library (docs/steps.md).

pub mod snippet;

/// One word of a step line or a definition phrase, parameters reduced to their kind.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Token {
    Word(String),
    Number,
    Text,
    /// A parameter that matches any word (`{word}`, `{}`, a custom parameter).
    Any,
}

/// How far a feature's step text is from a definition's phrase (0 = they mean the same line).
pub fn distance(step_text: &str, phrase: &str) -> f64 {
    let step = step_tokens(step_text);
    phrase_variants(phrase)
        .iter()
        .map(|variant| token_distance(&step, variant))
        .fold(f64::INFINITY, f64::min)
}

/// The `n` candidates whose phrase is nearest `step_text`, nearest first; ties keep the order
/// of `candidates`.
pub fn closest<'a, T>(
    step_text: &str,
    candidates: impl IntoIterator<Item = (&'a str, T)>,
    n: usize,
) -> Vec<(T, f64)> {
    let mut scored: Vec<(T, f64)> = candidates
        .into_iter()
        .map(|(phrase, candidate)| (candidate, distance(step_text, phrase)))
        .collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1));
    scored.truncate(n);
    scored
}

/// Words of a feature's step line: numbers and quoted text become parameter tokens.
fn step_tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut previous = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((len, token)) = parameter_at(rest, previous) {
            flush_word(&mut word, &mut tokens);
            tokens.push(token);
            previous = rest[..len].chars().last();
            rest = &rest[len..];
            continue;
        }
        if c.is_whitespace() {
            flush_word(&mut word, &mut tokens);
        } else {
            word.push(c);
        }
        previous = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    flush_word(&mut word, &mut tokens);
    tokens
}

/// A number or a quoted text at the start of `text` (which follows the character `previous`):
/// its length in bytes and its token. A value starts a word: `art1`, `CRC32` and `server's`
/// stay words, while `HTTP/1.1` and `"x"` hold one.
pub(crate) fn parameter_at(text: &str, previous: Option<char>) -> Option<(usize, Token)> {
    let after_space = previous.is_none_or(char::is_whitespace);
    let after_word = previous.is_some_and(char::is_alphanumeric);
    let first = text.chars().next()?;
    if !after_word
        && (first != '-' || after_space)
        && let Some(len) = number_len(text)
    {
        return Some((len, Token::Number));
    }
    if first == '"' || (first == '\'' && after_space) {
        return quoted_len(text, first).map(|len| (len, Token::Text));
    }
    None
}

/// Length of `-?\d+(\.\d+)?` at the start of `text`, if there is one.
fn number_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let sign = usize::from(bytes.first() == Some(&b'-'));
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let whole = digits(sign);
    if whole == 0 {
        return None;
    }
    let mut len = sign + whole;
    if bytes.get(len) == Some(&b'.') {
        let fraction = digits(len + 1);
        if fraction > 0 {
            len += 1 + fraction;
        }
    }
    Some(len)
}

/// Length of a text quoted with `quote` at the start of `text`, backslash escapes included.
fn quoted_len(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (at, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == quote => return Some(at + c.len_utf8()),
            _ => {}
        }
    }
    None
}

fn flush_word(word: &mut String, tokens: &mut Vec<Token>) {
    if !word.is_empty() {
        tokens.push(Token::Word(std::mem::take(word).to_lowercase()));
    }
}

/// A definition phrase as tokens, twice: with its optional parts (`article(s)`) and without.
fn phrase_variants(phrase: &str) -> [Vec<Token>; 2] {
    [phrase_tokens(phrase, true), phrase_tokens(phrase, false)]
}

fn phrase_tokens(phrase: &str, with_optionals: bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut chars = phrase.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            '{' => {
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                flush_word(&mut word, &mut tokens);
                tokens.push(match name.as_str() {
                    "int" | "float" => Token::Number,
                    "string" => Token::Text,
                    _ => Token::Any,
                });
            }
            '(' => {
                let optional = chars.by_ref().take_while(|&c| c != ')');
                if with_optionals {
                    word.extend(optional);
                } else {
                    optional.for_each(drop);
                }
            }
            c if c.is_whitespace() => flush_word(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    flush_word(&mut word, &mut tokens);
    tokens
}

/// Edit distance over tokens (see the module documentation for the costs).
fn token_distance(step: &[Token], phrase: &[Token]) -> f64 {
    const ADD_OR_REMOVE: f64 = 0.5;
    let mut previous: Vec<f64> = (0..=phrase.len()).map(|j| j as f64 * ADD_OR_REMOVE).collect();
    for (i, s) in step.iter().enumerate() {
        let mut current = vec![(i + 1) as f64 * ADD_OR_REMOVE; phrase.len() + 1];
        for (j, p) in phrase.iter().enumerate() {
            current[j + 1] = (previous[j] + substitution(s, p))
                .min(previous[j + 1] + ADD_OR_REMOVE)
                .min(current[j] + ADD_OR_REMOVE);
        }
        previous = current;
    }
    previous[phrase.len()]
}

fn substitution(step: &Token, phrase: &Token) -> f64 {
    match (step, phrase) {
        (Token::Word(a), Token::Word(b)) => {
            let longest = a.chars().count().max(b.chars().count()).max(1);
            levenshtein(a, b) as f64 / longest as f64
        }
        (_, Token::Any) => 0.0,
        (a, b) if a == b => 0.0,
        _ => 1.0,
    }
}

/// Character edit distance (insert, delete, replace: 1 each).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let replace = previous[j] + usize::from(ca != cb);
            current[j + 1] = replace.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The Cucumber expression behind a step definition's regex.
///
/// Exact for what cucumber's expression compiler and literal phrases produce: the built-in
/// parameters come back as `{int}`, `{float}`, `{word}`, `{string}` and `{}`, `(?:s)?` as
/// `(s)`, `(?:a|b)` as `a/b`. A custom parameter comes back as its alternatives
/// (`{fsync|flush|async}`); in a hand-written regex, a group between quotes comes back as
/// `{string}` and any other group as `{}`; other regex syntax is shown as written.
pub fn phrase_of_regex(regex: &str) -> String {
    let body = regex.strip_prefix('^').unwrap_or(regex);
    let body = match body.strip_suffix('$') {
        Some(inner) if !inner.ends_with('\\') => inner,
        _ => body,
    };
    let mut phrase = String::new();
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        if c == '(' {
            let end = group_end(rest);
            let group = &rest[..end];
            let after = &rest[end..];
            if let Some(inner) = group.strip_prefix("(?:").and_then(|g| g.strip_suffix(')'))
                && let Some(after_optional) = after.strip_prefix('?')
            {
                phrase.push('(');
                phrase.push_str(&phrase_of_regex(inner));
                phrase.push(')');
                rest = after_optional;
                continue;
            }
            // A group between literal quotes is a quoted text: `"(.*)"` reads `{string}`.
            match after.strip_prefix('"').filter(|_| phrase.ends_with('"')) {
                Some(after_quote) => {
                    phrase.pop();
                    phrase.push_str("{string}");
                    rest = after_quote;
                }
                None => {
                    phrase.push_str(&parameter_name(group));
                    rest = after;
                }
            }
        } else if c == '\\' {
            let Some(escaped) = rest[1..].chars().next() else {
                phrase.push('\\');
                break;
            };
            // Characters that mean something in a Cucumber expression stay escaped.
            if matches!(escaped, '(' | ')' | '{' | '}') {
                phrase.push('\\');
            }
            phrase.push(escaped);
            rest = &rest[1 + escaped.len_utf8()..];
        } else {
            phrase.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    phrase
}

/// The placeholder for a regex group (parentheses included) outside an optional.
fn parameter_name(group: &str) -> String {
    const BUILT_IN: [(&str, &str); 7] = [
        (r"((?:-?\d+)|(?:\d+))", "{int}"),
        (r"(\d+)", "{int}"),
        (r"(-?\d+)", "{int}"),
        (r"([+-]?(?:inf|NaN|(?:\d+|\d+\.\d*|\d*\.\d+)(?:[eE][+-]?\d+)?))", "{float}"),
        (r"([^\s]+)", "{word}"),
        (r"(.*)", "{}"),
        (r"(.+)", "{}"),
    ];
    if let Some((_, name)) = BUILT_IN.iter().find(|(regex, _)| *regex == group) {
        return (*name).to_string();
    }
    let inner = &group[1..group.len() - 1];
    if let Some(alternatives) = inner.strip_prefix("?:") {
        if alternatives.starts_with("\"(?P<__") {
            return "{string}".to_string();
        }
        return phrase_of_regex(alternatives).replace('|', "/");
    }
    let is_word_list = inner.split('|').all(|alternative| {
        !alternative.is_empty() && alternative.chars().all(|c| c.is_alphanumeric() || c == '_')
    });
    if is_word_list && inner.contains('|') { format!("{{{inner}}}") } else { "{}".to_string() }
}

/// Byte length of the parenthesised group at the start of `regex` (escapes and character
/// classes skipped); the whole rest if it is not closed.
fn group_end(regex: &str) -> usize {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut escaped = false;
    for (at, c) in regex.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            _ if in_class => {}
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
    }
    regex.len()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use cucumber::codegen::Expression;

    use super::*;

    /// What cucumber compiles an expression to, turned back into a phrase.
    fn round_trip(expression: &str) -> String {
        let custom = HashMap::from([("durability", "fsync|flush|async")]);
        let regex = Expression::regex_with_parameters(expression, &custom).unwrap();
        phrase_of_regex(regex.as_str())
    }

    #[test]
    fn expressions_come_back_from_their_regex() {
        for expression in [
            "a running Lithair server",
            "I create {int} article(s)",
            "less than {float}% of the requests failed",
            "the events.raftlog file contains exactly {int} {word} events",
            "a Lithair server on port {int} with persistence {string}",
            "{int} clients create {int} articles",
            "la persistence est activée par défaut",
            "a value {}",
        ] {
            assert_eq!(round_trip(expression), expression);
        }
        assert_eq!(round_trip("the answer is red/green"), "the answer is red/green");
        assert_eq!(
            round_trip("a running Lithair server with {durability} durability"),
            "a running Lithair server with {fsync|flush|async} durability"
        );
    }

    #[test]
    fn literal_phrases_come_back_unescaped() {
        let literal = "the events.raftlog file holds these events in this order: (all)";
        let regex = format!("^{}$", regex_escape(literal));
        assert_eq!(
            phrase_of_regex(&regex),
            r"the events.raftlog file holds these events in this order: \(all\)"
        );
    }

    /// What `regex::escape` does to the phrase of a literal `#[given("…")]`.
    fn regex_escape(text: &str) -> String {
        text.chars()
            .flat_map(|c| {
                let special = r"\.+*?()|[]{}^$#&-~".contains(c);
                special.then_some('\\').into_iter().chain([c])
            })
            .collect()
    }

    #[test]
    fn hand_written_regex_groups_become_placeholders() {
        assert_eq!(phrase_of_regex(r"^I wait (\d+) ms$"), "I wait {int} ms");
        assert_eq!(phrase_of_regex(r#"^the title is "(.*)"$"#), "the title is {string}");
    }

    #[test]
    fn parameters_count_as_one_word() {
        assert_eq!(distance("I create 3 articles", "I create {int} article(s)"), 0.0);
        assert_eq!(distance("I create 1 article", "I create {int} article(s)"), 0.0);
        assert_eq!(
            distance(
                r#"a Lithair server on port 8080 with persistence "/tmp/x y""#,
                "a Lithair server on port {int} with persistence {string}"
            ),
            0.0
        );
        assert_eq!(
            distance(
                "less than 0.5% of the requests failed",
                "less than {float}% of the requests failed"
            ),
            0.0
        );
        assert_eq!(
            distance("the file has 3 ArticleCreated events", "the file has {int} {word} events"),
            0.0
        );
    }

    #[test]
    fn a_typo_is_nearer_than_another_sentence() {
        let typo = distance("I create 3 artcles", "I create {int} article(s)");
        assert!(typo > 0.0 && typo < 0.2, "{typo}");
        let other = distance("I create 3 artcles", "I delete {int} article(s)");
        assert!(other > typo, "{other} <= {typo}");
    }

    #[test]
    fn the_nearest_come_first() {
        let phrases = [
            "I delete {int} article(s)",
            "I create {int} articles in parallel with {int} workers",
            "I create {int} article(s)",
            "the server is healthy",
        ];
        let nearest = closest("I create 3 artcles", phrases.iter().map(|p| (*p, *p)), 3);
        let nearest: Vec<&str> = nearest.iter().map(|(phrase, _)| *phrase).collect();
        assert_eq!(
            nearest,
            [
                "I create {int} article(s)",
                "I delete {int} article(s)",
                "I create {int} articles in parallel with {int} workers"
            ]
        );
    }

    #[test]
    fn an_apostrophe_is_not_a_quote() {
        assert_eq!(
            step_tokens("the server's log isn't 'empty'"),
            [
                Token::Word("the".into()),
                Token::Word("server's".into()),
                Token::Word("log".into()),
                Token::Word("isn't".into()),
                Token::Text
            ]
        );
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("crée", "cree"), 1);
    }
}
