//! Why this exists: `[backend.command] command` is an argv with placeholders, and what each
//! placeholder means is defined once, here: the config check names a typo (`{hostname}`) with its
//! file:line:column before the worker starts, and the worker fills in exactly the pieces checked
//! here, so a value lands inside the one argv element its placeholder is in and can never add,
//! split or join elements (there is no shell, and no second pass over filled-in text).

use std::fmt;

/// A placeholder of `[backend.command] command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{host}`: the full host name, `home.dyn.example.com`.
    Host,
    /// `{zone}`: the backend zone, `example.com`.
    Zone,
    /// `{label}`: the host less its zone, `home.dyn`; empty at the zone apex.
    Label,
    /// `{type}`: `A`, `AAAA` or `TXT`.
    Type,
    /// `{value}`: the RRset's values joined by one space (one value for an address update); empty
    /// for a delete.
    Value,
    /// `{values}`: one argv element per value (none for a delete); only as a whole element.
    Values,
    /// `{ttl}`: the TTL in seconds; `0` for a delete.
    Ttl,
    /// `{action}`: `replace` or `delete`.
    Action,
}

impl Placeholder {
    pub const ALL: [Placeholder; 8] = [
        Placeholder::Host,
        Placeholder::Zone,
        Placeholder::Label,
        Placeholder::Type,
        Placeholder::Value,
        Placeholder::Values,
        Placeholder::Ttl,
        Placeholder::Action,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Host => "host",
            Placeholder::Zone => "zone",
            Placeholder::Label => "label",
            Placeholder::Type => "type",
            Placeholder::Value => "value",
            Placeholder::Values => "values",
            Placeholder::Ttl => "ttl",
            Placeholder::Action => "action",
        }
    }

    fn named(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Why a command template is refused; `element` is the argv index (0 is the program).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("there is no program to run")]
    Empty,
    #[error("unknown placeholder `{{{name}}}`; the placeholders are {}", known())]
    Unknown { element: usize, name: String },
    #[error("the program must be given as it is, without placeholders")]
    InProgram,
    #[error("`{{values}}` must be an element of its own: it becomes one element per value")]
    ValuesNotAlone { element: usize },
}

impl TemplateError {
    /// The argv index the error is about.
    pub fn element(&self) -> usize {
        match self {
            TemplateError::Empty | TemplateError::InProgram => 0,
            TemplateError::Unknown { element, .. } | TemplateError::ValuesNotAlone { element } => {
                *element
            }
        }
    }
}

fn known() -> String {
    let names: Vec<String> = Placeholder::ALL.iter().map(ToString::to_string).collect();
    names.join(", ")
}

/// A piece of one argv element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Placeholder(Placeholder),
}

/// What one change puts into the placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Filling<'a> {
    pub host: &'a str,
    pub zone: &'a str,
    pub label: &'a str,
    pub record_type: &'a str,
    /// Each value as the DNS server should hold it (an address, a TXT text without quotes).
    pub values: &'a [String],
    pub ttl: u32,
    /// `true` for a delete of the RRset.
    pub delete: bool,
}

/// `[backend.command] command`, checked and split into text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    program: String,
    args: Vec<Vec<Piece>>,
}

impl CommandTemplate {
    /// Checks `argv` (the program first, taken as it is). A `{` followed by lower-case letters or
    /// `_` and a `}` is a placeholder and must be a known one; any other brace is text (a JSON
    /// argument stays as written).
    pub fn parse(argv: &[String]) -> Result<CommandTemplate, TemplateError> {
        let (program, args) = argv.split_first().ok_or(TemplateError::Empty)?;
        if parse_element(program, 0)?
            .iter()
            .any(|piece| matches!(piece, Piece::Placeholder(_)))
        {
            return Err(TemplateError::InProgram);
        }
        let args = args
            .iter()
            .enumerate()
            .map(|(index, arg)| {
                let element = index + 1;
                let pieces = parse_element(arg, element)?;
                let values_inside =
                    pieces.len() > 1 && pieces.contains(&Piece::Placeholder(Placeholder::Values));
                if values_inside {
                    return Err(TemplateError::ValuesNotAlone { element });
                }
                Ok(pieces)
            })
            .collect::<Result<_, _>>()?;
        Ok(CommandTemplate {
            program: program.clone(),
            args,
        })
    }

    /// The program, as configured (a path, or a name looked up in the worker's PATH).
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The argv for one change: every placeholder replaced inside its own element, each piece
    /// taken once (a value holding `{zone}` stays `{zone}`).
    pub fn fill(&self, with: &Filling<'_>) -> Vec<String> {
        let mut argv = Vec::with_capacity(self.args.len() + 1);
        argv.push(self.program.clone());
        for pieces in &self.args {
            if let [Piece::Placeholder(Placeholder::Values)] = pieces.as_slice() {
                argv.extend(with.values.iter().cloned());
                continue;
            }
            let mut element = String::new();
            for piece in pieces {
                match piece {
                    Piece::Text(text) => element.push_str(text),
                    Piece::Placeholder(placeholder) => element.push_str(&one(*placeholder, with)),
                }
            }
            argv.push(element);
        }
        argv
    }
}

/// What a placeholder inside an element becomes.
fn one(placeholder: Placeholder, with: &Filling<'_>) -> String {
    match placeholder {
        Placeholder::Host => with.host.to_owned(),
        Placeholder::Zone => with.zone.to_owned(),
        Placeholder::Label => with.label.to_owned(),
        Placeholder::Type => with.record_type.to_owned(),
        // `{values}` is always a whole element (`parse` refuses it inside one); this arm is the
        // same text as `{value}` so the function has an answer for every placeholder.
        Placeholder::Value | Placeholder::Values => with.values.join(" "),
        Placeholder::Ttl => with.ttl.to_string(),
        Placeholder::Action => if with.delete { "delete" } else { "replace" }.to_owned(),
    }
}

fn parse_element(element: &str, index: usize) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = element;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('}') {
            let name = &after[..name_len];
            let placeholder = Placeholder::named(name).ok_or_else(|| TemplateError::Unknown {
                element: index,
                name: name.to_owned(),
            })?;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Placeholder(placeholder));
            rest = &after[name_len + 1..];
        } else {
            text.push('{');
            rest = after;
        }
    }
    text.push_str(rest);
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    fn filling<'a>(host: &'a str, values: &'a [String]) -> Filling<'a> {
        Filling {
            host,
            zone: "example.com",
            label: "home.dyn",
            record_type: "A",
            values,
            ttl: 60,
            delete: values.is_empty(),
        }
    }

    #[test]
    fn every_placeholder_is_replaced_inside_its_element() {
        let template = CommandTemplate::parse(&argv(&[
            "/usr/local/bin/set-record",
            "--name={host}",
            "{label}@{zone}",
            "{type}",
            "{value}",
            "ttl={ttl}",
            "{action}",
            "{values}",
            r#"{"json": true}"#,
        ]))
        .unwrap();
        let values = ["192.0.2.1".to_owned(), "192.0.2.2".to_owned()];
        assert_eq!(
            template.fill(&filling("home.dyn.example.com", &values)),
            argv(&[
                "/usr/local/bin/set-record",
                "--name=home.dyn.example.com",
                "home.dyn@example.com",
                "A",
                "192.0.2.1 192.0.2.2",
                "ttl=60",
                "replace",
                "192.0.2.1",
                "192.0.2.2",
                r#"{"json": true}"#,
            ])
        );
    }

    #[test]
    fn a_delete_has_no_value_and_no_values_elements() {
        let template =
            CommandTemplate::parse(&argv(&["prog", "{action}", "[{value}]", "{values}", "end"]))
                .unwrap();
        assert_eq!(
            template.fill(&filling("home.dyn.example.com", &[])),
            argv(&["prog", "delete", "[]", "end"])
        );
    }

    #[test]
    fn a_value_never_adds_splits_or_expands_elements() {
        let template = CommandTemplate::parse(&argv(&["prog", "{host}", "{values}", "x"])).unwrap();
        let values = ["a b {zone} --flag".to_owned()];
        assert_eq!(
            template.fill(&filling("evil.example.com --rm {zone}", &values)),
            argv(&[
                "prog",
                "evil.example.com --rm {zone}",
                "a b {zone} --flag",
                "x"
            ])
        );
    }

    #[test]
    fn typos_and_misplaced_placeholders_are_refused_with_their_element() {
        let unknown = CommandTemplate::parse(&argv(&["prog", "ok", "{hostname}"])).unwrap_err();
        assert_eq!(
            unknown,
            TemplateError::Unknown {
                element: 2,
                name: "hostname".to_owned()
            }
        );
        assert!(
            unknown
                .to_string()
                .contains("{host}, {zone}, {label}, {type}, {value}, {values}, {ttl}, {action}"),
            "{unknown}"
        );
        assert_eq!(
            CommandTemplate::parse(&argv(&["prog", "--v={values}"])),
            Err(TemplateError::ValuesNotAlone { element: 1 })
        );
        assert_eq!(
            CommandTemplate::parse(&argv(&["/opt/{zone}/bin"])),
            Err(TemplateError::InProgram)
        );
        assert_eq!(CommandTemplate::parse(&[]), Err(TemplateError::Empty));
        // Braces that are not a placeholder are text.
        assert!(CommandTemplate::parse(&argv(&["prog", "{}", "{A}", "{{host}}", "{x y}"])).is_ok());
    }
}
