//! A typed view of one document: what bash ends with for BUILDENV's distcc flag,
//! DISTCC_HOSTS and MAKEFLAGS, and where each value comes from.

use crate::conf::document::{
    Document, ItemKind, Op, Touch, TouchKind, array_elements, decode_word, unquote_span,
};
use crate::conf::makeflags::{JobCount, find_job_flags};
use std::ops::Range;

pub const BUILDENV: &str = "BUILDENV";
pub const DISTCC_HOSTS: &str = "DISTCC_HOSTS";
pub const MAKEFLAGS: &str = "MAKEFLAGS";

/// A value set inside shell logic, which the tool cannot read or edit safely.
#[derive(Debug, Clone)]
pub struct Blocker {
    pub name: String,
    pub line: usize,
    pub text: String,
}

/// The top-level assignments that make a variable's value: the last `=` and the `+=` after it.
#[derive(Debug, Clone)]
pub enum Resolution {
    Unset,
    Chain {
        /// Item indexes; the first is a `=` unless the file only appends.
        items: Vec<usize>,
        starts_with_set: bool,
    },
    Blocked(Blocker),
}

/// Resolves `name` in `doc`. `relevant` says which touches inside shell logic, after the chain
/// starts, could change the part of the value the tool cares about.
pub fn resolve(doc: &Document, name: &str, relevant: impl Fn(&Touch) -> bool) -> Resolution {
    let assigns: Vec<(usize, Op)> = doc.assignments(name).map(|(i, a)| (i, a.op)).collect();
    let start = assigns
        .iter()
        .rposition(|(_, op)| *op == Op::Set)
        .unwrap_or(0);
    let chain: Vec<usize> = assigns[start.min(assigns.len())..]
        .iter()
        .map(|(i, _)| *i)
        .collect();
    let starts_with_set = assigns.get(start).is_some_and(|(_, op)| *op == Op::Set);
    // Logic before a plain `=` is overridden by it; logic after it decides the value.
    let from = if starts_with_set { chain[0] } else { 0 };
    if let Some((_, touch)) = doc
        .touches(name)
        .filter(|(i, _)| *i > from || !starts_with_set)
        .filter(|(_, t)| relevant(t))
        .last()
    {
        return Resolution::Blocked(Blocker {
            name: name.to_string(),
            line: touch.line,
            text: touch.text.clone(),
        });
    }
    if chain.is_empty() {
        Resolution::Unset
    } else {
        Resolution::Chain {
            items: chain,
            starts_with_set,
        }
    }
}

pub fn assignment(doc: &Document, item: usize) -> &crate::conf::document::Assignment {
    match &doc.items()[item].kind {
        ItemKind::Assignment(a) => a,
        _ => unreachable!("resolve() only returns assignment items"),
    }
}

/// The `distcc`/`!distcc` entry of BUILDENV that decides (makepkg scans from the end).
#[derive(Debug, Clone)]
pub struct DistccFlag {
    pub enabled: bool,
    pub line: usize,
    /// Absolute byte range of the element.
    pub range: Range<usize>,
}

#[derive(Debug, Clone)]
pub enum BuildenvState {
    /// No BUILDENV assignment at all in this file.
    Unset,
    /// BUILDENV is assigned but has no distcc entry (makepkg's default: off).
    NoEntry {
        chain: Vec<usize>,
    },
    Flag {
        flag: DistccFlag,
        chain: Vec<usize>,
    },
    /// `BUILDENV=("${BUILDENV[@]}" ...)` with no distcc entry after the earlier layers'
    /// entries: what they said stands (or `before`, an entry ahead of them, when they say
    /// nothing). `after` is where an entry that must win goes.
    Inherits {
        before: Option<DistccFlag>,
        after: usize,
    },
    Blocked(Blocker),
}

fn mentions_distcc(t: &Touch) -> bool {
    t.kind == TouchKind::Other || t.text.contains("distcc") || t.kind == TouchKind::Set
}

pub fn buildenv(doc: &Document) -> BuildenvState {
    match resolve(doc, BUILDENV, mentions_distcc) {
        Resolution::Unset => BuildenvState::Unset,
        Resolution::Blocked(b) => BuildenvState::Blocked(b),
        Resolution::Chain { items, .. } => {
            let mut flag = None;
            // (entry ahead of the inherited ones, end of the `"${BUILDENV[@]}"` element)
            let mut inherits: Option<(Option<DistccFlag>, usize)> = None;
            for &i in &items {
                let a = assignment(doc, i);
                if !a.is_array {
                    continue;
                }
                let raw = doc.slice(a.value.clone());
                for el in array_elements(raw) {
                    let text = &raw[el.range.clone()];
                    let spliced = [&b"${BUILDENV[@]}"[..], b"${BUILDENV[*]}"]
                        .iter()
                        .any(|p| text.windows(p.len()).any(|w| w == *p));
                    if spliced {
                        inherits = Some((flag.take(), a.value.start + el.range.end));
                        continue;
                    }
                    let enabled = match el.value.as_static() {
                        Some("distcc") => true,
                        Some("!distcc") => false,
                        _ => continue,
                    };
                    let range = a.value.start + el.range.start..a.value.start + el.range.end;
                    flag = Some(DistccFlag {
                        enabled,
                        line: doc.line_of(range.start),
                        range,
                    });
                }
            }
            match (flag, inherits) {
                (Some(flag), _) => BuildenvState::Flag { flag, chain: items },
                (None, Some((before, after))) => BuildenvState::Inherits { before, after },
                (None, None) => BuildenvState::NoEntry { chain: items },
            }
        }
    }
}

/// A scalar's effective value in this file.
#[derive(Debug, Clone)]
pub enum Scalar {
    Unset,
    /// Known without running code. `appended` when `+=` contributed.
    Static {
        value: String,
        line: usize,
        appended: bool,
        /// Whether the file only appends to a value set elsewhere.
        appends_only: bool,
    },
    Computed {
        text: String,
        line: usize,
    },
    Blocked(Blocker),
}

/// Any touch inside shell logic may change a scalar.
fn any_touch(_: &Touch) -> bool {
    true
}

pub fn scalar(doc: &Document, name: &str) -> Scalar {
    match resolve(doc, name, any_touch) {
        Resolution::Unset => Scalar::Unset,
        Resolution::Blocked(b) => Scalar::Blocked(b),
        Resolution::Chain {
            items,
            starts_with_set,
        } => {
            let mut value = String::new();
            for &i in &items {
                let a = assignment(doc, i);
                match decode_word(doc.slice(a.value.clone())).as_static() {
                    Some(v) if !a.is_array => value.push_str(v),
                    _ => {
                        return Scalar::Computed {
                            text: doc.str_lossy(a.value.clone()),
                            line: doc.items()[i].line,
                        };
                    }
                }
            }
            Scalar::Static {
                value,
                line: doc.items()[*items.last().unwrap()].line,
                appended: items.len() > 1 || !starts_with_set,
                appends_only: !starts_with_set,
            }
        }
    }
}

/// DISTCC_HOSTS as written in this file.
pub fn hosts(doc: &Document) -> Scalar {
    scalar(doc, DISTCC_HOSTS)
}

/// MAKEFLAGS with its effective job count.
#[derive(Debug, Clone)]
pub struct Makeflags {
    /// The value as written (quotes removed), `+=` parts joined.
    pub text: String,
    pub jobs: Option<JobCount>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum MakeflagsState {
    Unset,
    Value(Makeflags),
    Blocked(Blocker),
}

pub fn makeflags(doc: &Document) -> MakeflagsState {
    match resolve(doc, MAKEFLAGS, any_touch) {
        Resolution::Unset => MakeflagsState::Unset,
        Resolution::Blocked(b) => MakeflagsState::Blocked(b),
        Resolution::Chain { items, .. } => {
            let mut text = String::new();
            let mut jobs = None;
            for &i in &items {
                let a = assignment(doc, i);
                let raw = doc.slice(a.value.clone());
                let (_, inner) = unquote_span(raw);
                let inner = &raw[inner];
                if let Some(last) = find_job_flags(inner).pop() {
                    jobs = Some(last.count);
                }
                text.push_str(&String::from_utf8_lossy(inner));
            }
            MakeflagsState::Value(Makeflags {
                text,
                jobs,
                line: doc.items()[*items.last().unwrap()].line,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_distcc_entry_decides() {
        let doc =
            Document::parse("# BUILDENV=(!distcc)\nBUILDENV=(distcc color)\nBUILDENV+=(!distcc)\n");
        match buildenv(&doc) {
            BuildenvState::Flag { flag, .. } => {
                assert!(!flag.enabled);
                assert_eq!(flag.line, 3);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_per_user_idiom_inherits_the_earlier_entries() {
        let doc = Document::parse("BUILDENV=(\"${BUILDENV[@]}\" ccache)\n");
        assert!(matches!(
            buildenv(&doc),
            BuildenvState::Inherits { before: None, .. }
        ));
        let doc = Document::parse("BUILDENV=(distcc \"${BUILDENV[@]}\")\n");
        assert!(
            matches!(buildenv(&doc), BuildenvState::Inherits { before: Some(f), .. } if f.enabled)
        );
        let doc = Document::parse("BUILDENV=(\"${BUILDENV[@]}\" !distcc)\n");
        assert!(matches!(buildenv(&doc), BuildenvState::Flag { flag, .. } if !flag.enabled));
    }

    #[test]
    fn logic_after_assignment_blocks() {
        let doc = Document::parse("MAKEFLAGS=-j2\nif x; then MAKEFLAGS=-j4; fi\n");
        assert!(matches!(makeflags(&doc), MakeflagsState::Blocked(b) if b.line == 2));
        let doc = Document::parse("if x; then MAKEFLAGS=-j4; fi\nMAKEFLAGS=-j2\n");
        assert!(matches!(makeflags(&doc), MakeflagsState::Value(_)));
        let doc = Document::parse("BUILDENV=(!distcc)\n[[ -d x ]] && BUILDENV+=(ccache)\n");
        assert!(matches!(buildenv(&doc), BuildenvState::Flag { .. }));
    }
}
