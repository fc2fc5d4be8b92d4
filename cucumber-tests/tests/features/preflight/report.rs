//! What the preflight prints: for an undefined step, the nearest defined phrases and a
//! definition to paste; for an ambiguous one, every definition it matches; for a dry run,
//! where each line is bound.

use std::fmt::{self, Write as _};

use cucumber::gherkin::StepType;
use cucumber_tests::suggest;

use super::bind::{Binding, Definition, Place, StepLine, kind_name};

/// How many defined phrases "did you mean" offers.
const SUGGESTIONS: usize = 3;

/// The report of every undefined or ambiguous line (empty when there is none). Lines with the
/// same text share one set of suggestions and one snippet.
pub fn problems(lines: &[StepLine<'_>], definitions: &[Definition], world: &str) -> String {
    let mut out = String::new();
    write_problems(&mut out, lines, definitions, world).expect("a String takes any text");
    out
}

fn write_problems(
    out: &mut String,
    lines: &[StepLine<'_>],
    definitions: &[Definition],
    world: &str,
) -> fmt::Result {
    let mut reported: Vec<(StepType, &str)> = Vec::new();
    for line in lines {
        let key = (line.step.ty, line.step.value.as_str());
        match &line.binding {
            Binding::Bound(_) => {}
            Binding::Undefined if reported.contains(&key) => {}
            Binding::Undefined => {
                reported.push(key);
                undefined(out, lines, line, definitions, world)?;
            }
            Binding::Ambiguous(candidates) => {
                writeln!(
                    out,
                    "{}: ambiguous step, {} definitions match it\n    {}",
                    line.place(),
                    candidates.len(),
                    as_written(line)
                )?;
                for (phrase, location) in candidates {
                    writeln!(out, "      {phrase:<60} {}", Place(*location))?;
                }
                writeln!(out, "  keep one: reword a phrase so that only one matches\n")?;
            }
        }
    }
    Ok(())
}

fn undefined(
    out: &mut String,
    lines: &[StepLine<'_>],
    line: &StepLine<'_>,
    definitions: &[Definition],
    world: &str,
) -> fmt::Result {
    let same: Vec<String> = lines
        .iter()
        .filter(|other| matches!(other.binding, Binding::Undefined))
        .filter(|other| other.step.ty == line.step.ty && other.step.value == line.step.value)
        .map(StepLine::place)
        .collect();
    writeln!(out, "{}: undefined step\n    {}", same.join(", "), as_written(line))?;
    // Definitions of the kind the line needs come first among equally near ones.
    let mut candidates: Vec<&Definition> = definitions.iter().collect();
    candidates.sort_by_key(|definition| definition.kind != line.step.ty);
    let nearest = suggest::closest(
        &line.step.value,
        candidates.iter().map(|definition| (definition.phrase.as_str(), *definition)),
        SUGGESTIONS,
    );
    if !nearest.is_empty() {
        writeln!(out, "  did you mean:")?;
    }
    for (definition, distance) in nearest {
        let phrase = format!("{} {}", kind_name(definition.kind), definition.phrase);
        writeln!(out, "    {phrase:<64} {}", Place(Some(definition.location)))?;
        if distance == 0.0 && definition.kind != line.step.ty {
            writeln!(
                out,
                "      (this is a {kind} step: start the line with {kind}, or add \
                 #[{attribute}] to that function)",
                kind = kind_name(definition.kind),
                attribute = kind_name(line.step.ty).to_lowercase(),
            )?;
        }
    }
    let takes_step = line.step.table.is_some() || line.step.docstring.is_some();
    let attribute = kind_name(line.step.ty).to_lowercase();
    let snippet = suggest::snippet::snippet(&attribute, &line.step.value, takes_step, world);
    writeln!(out, "  or define it:")?;
    for code in snippet.lines() {
        writeln!(out, "    {code}")?;
    }
    writeln!(out)
}

/// Where every line is bound, for a dry run: one line per step line.
pub fn bindings(lines: &[StepLine<'_>]) -> String {
    let width = lines.iter().map(|line| line.place().len()).max().unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        let target = match &line.binding {
            Binding::Bound(location) => Place(*location).to_string(),
            Binding::Undefined => "UNDEFINED".to_string(),
            Binding::Ambiguous(candidates) => {
                format!("AMBIGUOUS ({} definitions)", candidates.len())
            }
        };
        let written = as_written(line);
        out.push_str(&format!("{:<width$}  {written:<70} -> {target}\n", line.place()));
    }
    out
}

/// The line as the feature writes it: `And I create 3 articles`.
fn as_written(line: &StepLine<'_>) -> String {
    format!("{} {}", line.step.keyword.trim(), line.step.value)
}
