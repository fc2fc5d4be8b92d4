//! The step definition to paste for a step line nothing matches, as cucumber-js and
//! Cucumber-JVM print them: the attribute with a Cucumber expression (numbers become `{int}` or
//! `{float}`, quoted text `{string}`) and an `async fn` whose parameters have those types,
//! named after the word next to them (`3 articles` → `articles: usize`).

use super::{Token, parameter_at};

/// A piece of a step line: literal text, or a value that becomes a parameter.
#[derive(Debug, PartialEq)]
enum Piece {
    Literal(String),
    Int { negative: bool },
    Float,
    Text,
}

/// The definition for `text`, a step line of kind `attribute` (`given`, `when`, `then`);
/// `takes_step` when the line carries a data table or a doc string the function must read.
pub fn snippet(attribute: &str, text: &str, takes_step: bool, world: &str) -> String {
    let pieces = pieces(text);
    let has_parameters = pieces.iter().any(|piece| !matches!(piece, Piece::Literal(_)));
    let argument = if has_parameters {
        format!("expr = {}", rust_string(&expression(&pieces)))
    } else {
        rust_string(text)
    };
    let mut parameters = vec![format!("world: &mut {world}")];
    let mut taken = vec!["world".to_string(), "step".to_string()];
    for (index, piece) in pieces.iter().enumerate() {
        let (fallback, ty) = match piece {
            Piece::Literal(_) => continue,
            Piece::Int { negative: false } => ("count", "usize"),
            Piece::Int { negative: true } => ("count", "i64"),
            Piece::Float => ("value", "f64"),
            Piece::Text => ("text", "String"),
        };
        let name = unique(parameter_name(&pieces, index).unwrap_or(fallback.to_string()), &taken);
        parameters.push(format!("{name}: {ty}"));
        taken.push(name);
    }
    if takes_step {
        parameters.push("step: &cucumber::gherkin::Step".to_string());
    }
    format!(
        "#[{attribute}({argument})]\nasync fn {name}({parameters}) -> anyhow::Result<()> {{\n    todo!()\n}}",
        name = function_name(&pieces),
        parameters = parameters.join(", "),
    )
}

fn pieces(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut previous = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let Some((len, token)) = parameter_at(rest, previous) else {
            literal.push(c);
            previous = Some(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        let value = &rest[..len];
        pieces.push(match token {
            Token::Number if value.contains('.') => Piece::Float,
            Token::Number => Piece::Int { negative: value.starts_with('-') },
            _ => Piece::Text,
        });
        previous = value.chars().last();
        rest = &rest[len..];
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    pieces
}

/// The Cucumber expression: parameters by type, literal text with the expression's own
/// syntax characters escaped.
fn expression(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Literal(text) => text
                .chars()
                .flat_map(|c| {
                    let special = matches!(c, '\\' | '(' | ')' | '{' | '}' | '/');
                    special.then_some('\\').into_iter().chain([c])
                })
                .collect(),
            Piece::Int { .. } => "{int}".to_string(),
            Piece::Float => "{float}".to_string(),
            Piece::Text => "{string}".to_string(),
        })
        .collect()
}

/// A Rust string literal holding `text`: raw when it has quotes or backslashes.
fn rust_string(text: &str) -> String {
    if !text.contains(['"', '\\']) {
        return format!("\"{text}\"");
    }
    let mut hashes = "#".to_string();
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
}

/// Words too common to name a parameter after.
const STOPWORDS: [&str; 24] = [
    "a", "an", "the", "of", "in", "to", "with", "for", "and", "or", "at", "on", "by", "from",
    "per", "each", "every", "is", "are", "than", "within", "as", "de", "en",
];

/// The word right after a number (`3 articles`) or right before a quoted text
/// (`title "x"`), falling back on the other side.
fn parameter_name(pieces: &[Piece], index: usize) -> Option<String> {
    let next = || match pieces.get(index + 1) {
        Some(Piece::Literal(text)) if text.starts_with(' ') => text.split_whitespace().next(),
        _ => None,
    };
    let previous = || match index.checked_sub(1).map(|i| &pieces[i]) {
        Some(Piece::Literal(text)) if text.ends_with(' ') => text.split_whitespace().last(),
        _ => None,
    };
    let candidates = match pieces[index] {
        Piece::Text => [previous(), next()],
        _ => [next(), previous()],
    };
    candidates.into_iter().flatten().map(identifier).find(|word| {
        !word.is_empty()
            && !word.starts_with(|c: char| c.is_ascii_digit())
            && !STOPWORDS.contains(&word.as_str())
            && !is_keyword(word)
    })
}

/// Keep the name unique among the parameters already named.
fn unique(name: String, taken: &[String]) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (2..).map(|n| format!("{name}{n}")).find(|candidate| !taken.contains(candidate)).unwrap()
}

/// `i_create_artcles` for `I create {int} artcles`: the literal words, at most eight.
fn function_name(pieces: &[Piece]) -> String {
    let words: Vec<String> = pieces
        .iter()
        .filter_map(|piece| match piece {
            Piece::Literal(text) => Some(text),
            _ => None,
        })
        .flat_map(|text| text.split(|c: char| !c.is_alphanumeric()))
        .map(identifier)
        .filter(|word| !word.is_empty())
        .take(8)
        .collect();
    let name = words.join("_");
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || is_keyword(&name) {
        format!("step_{name}").trim_end_matches('_').to_string()
    } else {
        name
    }
}

/// A word as a snake_case identifier, accents dropped (`crée` → `cree`).
fn identifier(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'à' | 'â' | 'ä' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'î' | 'ï' => Some('i'),
            'ô' | 'ö' => Some('o'),
            'ù' | 'û' | 'ü' => Some('u'),
            'ç' => Some('c'),
            c if c.is_ascii_alphanumeric() || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: [&str; 38] = [
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
        "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
        "true", "type", "unsafe", "use", "where", "while",
    ];
    KEYWORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_quoted_text_become_typed_parameters() {
        assert_eq!(
            snippet("when", "I create 3 artcles", false, "LithairWorld"),
            "#[when(expr = \"I create {int} artcles\")]\n\
             async fn i_create_artcles(world: &mut LithairWorld, artcles: usize) -> anyhow::Result<()> {\n    todo!()\n}"
        );
        let given = snippet(
            "given",
            r#"a Lithair server on port 8080 with persistence "/tmp/x""#,
            false,
            "W",
        );
        assert!(
            given.starts_with(
                "#[given(expr = \"a Lithair server on port {int} with persistence {string}\")]\n\
                 async fn a_lithair_server_on_port_with_persistence(world: &mut W, port: usize, persistence: String)"
            ),
            "{given}"
        );
    }

    #[test]
    fn parameters_get_distinct_names() {
        let then =
            snippet("then", "less than 0.5% of -3 requests failed in 2 ms and 4 ms", false, "W");
        assert!(
            then.contains("(world: &mut W, value: f64, requests: i64, ms: usize, ms2: usize)"),
            "{then}"
        );
    }

    #[test]
    fn a_phrase_without_parameters_stays_literal() {
        let then = snippet("then", "the log is (still) clean", true, "W");
        assert!(then.starts_with("#[then(\"the log is (still) clean\")]\n"), "{then}");
        assert!(then.contains("step: &cucumber::gherkin::Step"), "{then}");
    }

    #[test]
    fn expression_syntax_is_escaped() {
        let when = snippet("when", r#"I send GET /api/articles/7 (twice) with "a\"b""#, false, "W");
        assert!(
            when.starts_with(
                r##"#[when(expr = r#"I send GET \/api\/articles\/{int} \(twice\) with {string}"#)]"##
            ),
            "{when}"
        );
    }

    #[test]
    fn accents_and_apostrophes_make_identifiers() {
        let when = snippet("when", "je crée 3 articles l'un après l'autre", false, "W");
        assert!(when.contains("async fn je_cree_articles_l_un_apres_l_autre("), "{when}");
    }
}
