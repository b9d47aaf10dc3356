//! Why this exists: errors found after parsing (a host outside every zone, a bad address) still have to
//! point at a line and column, so this maps a key path back to its place in the source text.

use toml_edit::{ImDocument, Item, TableLike, Value};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Renders a path the way errors show it: `user[0].hosts[1]`.
pub fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// The steps of a key as [`render`] writes it: `notify[0].on[1]`.
pub fn parse(key: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in key.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|name| !name.is_empty()) {
            steps.push(Step::Key(name.to_owned()));
        }
        for index in pieces {
            if let Ok(index) = index.trim_end_matches(']').parse() {
                steps.push(Step::Index(index));
            }
        }
    }
    steps
}

/// Byte offset of the deepest part of `path` found in `source`: the key itself for a table key, the
/// element for an array index.
pub fn offset_of(source: &str, path: &[Step]) -> Option<usize> {
    let document = ImDocument::parse(source).ok()?;
    in_item(document.as_item(), path)
}

fn in_item(item: &Item, path: &[Step]) -> Option<usize> {
    let Some((step, rest)) = path.split_first() else {
        return item.span().map(|span| span.start);
    };
    match (step, item) {
        (Step::Key(key), _) => in_table(item.as_table_like()?, key, rest),
        (Step::Index(index), Item::ArrayOfTables(tables)) => {
            let table = tables.get(*index)?;
            let here = table.span().map(|span| span.start);
            match rest.split_first() {
                Some((Step::Key(key), rest)) => in_table(table, key, rest).or(here),
                _ => here,
            }
        }
        (Step::Index(index), Item::Value(value)) => in_value(value.as_array()?.get(*index)?, rest),
        _ => None,
    }
}

fn in_table(table: &dyn TableLike, key: &str, rest: &[Step]) -> Option<usize> {
    let (key_repr, item) = table.get_key_value(key)?;
    let here = key_repr.span().map(|span| span.start);
    if rest.is_empty() {
        return here;
    }
    in_item(item, rest).or(here)
}

fn in_value(value: &Value, path: &[Step]) -> Option<usize> {
    let here = value.span().map(|span| span.start);
    match path.split_first() {
        None => here,
        Some((Step::Key(key), rest)) => in_table(value.as_inline_table()?, key, rest).or(here),
        Some((Step::Index(index), rest)) => in_value(value.as_array()?.get(*index)?, rest).or(here),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}
