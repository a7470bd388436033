//! The compiler flags makepkg hands to a build, as far as they can be known without running
//! code: the config layers' top-level assignments read in order (with `$CFLAGS`-style
//! references between them), then makepkg's own additions for `!buildflags`, `debug` and
//! `lto` in OPTIONS (libmakepkg/buildenv/{buildflags,debugflags,lto}.sh).

use crate::conf::document::{Document, ItemKind, Op, array_elements, decode_word_with};
use std::collections::HashMap;
use std::path::PathBuf;

/// A variable's value after the layers, as far as it can be known.
#[derive(Debug, Clone, PartialEq)]
enum Var {
    Scalar(String),
    Array(Vec<String>),
    /// Computed by shell code, or set inside shell logic: where, and the text.
    Unknown(String),
}

/// The flags of one language, split into words as a build's shell would.
pub type Flags = Result<Vec<String>, String>;

#[derive(Debug, Clone)]
pub struct BuildFlags {
    /// Err: why the value cannot be known (file:line: text).
    pub cflags: Flags,
    pub cxxflags: Flags,
    /// `lto` in OPTIONS, or `-flto` in the flags: objects carry the compiler's own bytecode.
    pub lto: bool,
    /// Where CFLAGS and CXXFLAGS were written (`file:line`, the last `=` then each `+=`).
    pub cflags_from: Vec<String>,
    pub cxxflags_from: Vec<String>,
    pub notes: Vec<String>,
}

struct Layers {
    vars: HashMap<String, Var>,
    /// Where each variable's value was written: its last `=` and the `+=` after it.
    origins: HashMap<String, Vec<String>>,
}

impl Layers {
    fn read(docs: &[(PathBuf, Document)]) -> Layers {
        let mut vars: HashMap<String, Var> = HashMap::new();
        let mut origins: HashMap<String, Vec<String>> = HashMap::new();
        for (path, doc) in docs {
            for item in doc.items() {
                match &item.kind {
                    ItemKind::Assignment(a) => {
                        let raw = doc.slice(a.value.clone());
                        let at = || {
                            Var::Unknown(format!(
                                "{}:{}: {}",
                                path.display(),
                                item.line,
                                doc.str_lossy(a.value.clone())
                            ))
                        };
                        let value = if a.is_array {
                            let words: Option<Vec<String>> = array_elements(raw)
                                .into_iter()
                                .map(|e| e.value.as_static().map(str::to_string))
                                .collect();
                            words.map_or_else(at, Var::Array)
                        } else {
                            let lookup = |name: &str| match vars.get(name) {
                                Some(Var::Scalar(s)) => Some(s.clone()),
                                Some(Var::Array(a)) => Some(a.first().cloned().unwrap_or_default()),
                                Some(Var::Unknown(_)) => None,
                                None => Some(String::new()),
                            };
                            decode_word_with(raw, &lookup)
                                .as_static()
                                .map_or_else(at, |v| Var::Scalar(v.to_string()))
                        };
                        let next = match (a.op, vars.get(&a.name), value) {
                            (Op::Set, _, v) => v,
                            (Op::Append, _, Var::Unknown(w)) => Var::Unknown(w),
                            (Op::Append, Some(Var::Unknown(w)), _) => Var::Unknown(w.clone()),
                            (Op::Append, Some(Var::Array(old)), Var::Array(new)) => {
                                Var::Array([old.clone(), new].concat())
                            }
                            (Op::Append, Some(Var::Scalar(old)), Var::Scalar(new)) => {
                                Var::Scalar(format!("{old}{new}"))
                            }
                            (Op::Append, None, v) => v,
                            (Op::Append, Some(_), _) => at(),
                        };
                        vars.insert(a.name.clone(), next);
                        let place = format!("{}:{}", path.display(), item.line);
                        let seen = origins.entry(a.name.clone()).or_default();
                        if a.op == Op::Set {
                            seen.clear();
                        }
                        seen.push(place);
                    }
                    ItemKind::Logic(touches) => {
                        for t in touches {
                            vars.insert(
                                t.name.clone(),
                                Var::Unknown(format!(
                                    "{}:{}: set inside shell logic ({})",
                                    path.display(),
                                    t.line,
                                    t.text
                                )),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        Layers { vars, origins }
    }

    fn scalar(&self, name: &str) -> Result<String, String> {
        match self.vars.get(name) {
            Some(Var::Scalar(s)) => Ok(s.clone()),
            Some(Var::Array(a)) => Ok(a.first().cloned().unwrap_or_default()),
            Some(Var::Unknown(w)) => Err(w.clone()),
            None => Ok(String::new()),
        }
    }

    /// makepkg's `check_option NAME y`: the last `NAME`/`!NAME` in OPTIONS decides.
    fn option(&self, name: &str) -> Result<Option<bool>, String> {
        match self.vars.get("OPTIONS") {
            Some(Var::Array(a)) => Ok(a.iter().rev().find_map(|o| {
                if o == name {
                    Some(true)
                } else if o.strip_prefix('!') == Some(name) {
                    Some(false)
                } else {
                    None
                }
            })),
            Some(Var::Unknown(w)) => Err(w.clone()),
            _ => Ok(None),
        }
    }
}

/// What makepkg would put in CFLAGS and CXXFLAGS for a build (before a PKGBUILD's own
/// `options` and edits, which the probe cannot know).
pub fn build_flags(docs: &[(PathBuf, Document)]) -> BuildFlags {
    let layers = Layers::read(docs);
    let mut notes = Vec::new();
    let option = |name: &str, notes: &mut Vec<String>| match layers.option(name) {
        Ok(v) => v == Some(true),
        Err(w) => {
            notes.push(format!(
                "OPTIONS is computed ({w}); the probe assumes no `{name}`"
            ));
            false
        }
    };
    let no_buildflags = layers.option("buildflags").ok().flatten() == Some(false);
    let debug = option("debug", &mut notes);
    let lto_option = option("lto", &mut notes);
    let flags_of = |var: &str, debug_var: &str| -> Flags {
        if no_buildflags {
            return Ok(Vec::new());
        }
        let mut text = layers
            .scalar(var)
            .map_err(|w| format!("{var} is computed ({w}); the probe will not guess it"))?;
        if debug {
            let extra = layers.scalar(debug_var).map_err(|w| {
                format!("{debug_var} is computed ({w}); the probe will not guess it")
            })?;
            // makepkg adds a source prefix map with the build's own folder.
            text.push_str(&format!(
                " {extra} -ffile-prefix-map=/build/src=/usr/src/debug/probe"
            ));
        }
        if lto_option {
            let lto = layers
                .scalar("LTOFLAGS")
                .map_err(|w| format!("LTOFLAGS is computed ({w}); the probe will not guess it"))?;
            text.push(' ');
            text.push_str(if lto.is_empty() { "-flto" } else { &lto });
        }
        Ok(text.split_whitespace().map(str::to_string).collect())
    };
    let cflags = flags_of("CFLAGS", "DEBUG_CFLAGS");
    let cxxflags = flags_of("CXXFLAGS", "DEBUG_CXXFLAGS");
    if no_buildflags {
        notes.push("`!buildflags` in OPTIONS: makepkg passes no CFLAGS or CXXFLAGS".into());
    }
    let has_lto = |f: &Flags| {
        f.as_ref()
            .is_ok_and(|w| w.iter().any(|w| w.starts_with("-flto") && w != "-fno-lto"))
    };
    let lto = has_lto(&cflags) || has_lto(&cxxflags);
    let from = |var: &str| layers.origins.get(var).cloned().unwrap_or_default();
    BuildFlags {
        cflags,
        cxxflags,
        lto,
        cflags_from: from("CFLAGS"),
        cxxflags_from: from("CXXFLAGS"),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(texts: &[&str]) -> BuildFlags {
        let docs: Vec<(PathBuf, Document)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (PathBuf::from(format!("/l{i}.conf")), Document::parse(*t)))
            .collect();
        build_flags(&docs)
    }

    #[test]
    fn references_between_layers_resolve() {
        let f = flags(&[
            "CFLAGS=\"-O2 -pipe\"\nCXXFLAGS=\"$CFLAGS -Wp,-D_GLIBCXX_ASSERTIONS\"\n",
            "CFLAGS+=' -fhardened'\n",
        ]);
        assert_eq!(f.cflags.unwrap(), ["-O2", "-pipe", "-fhardened"]);
        assert_eq!(f.cflags_from, ["/l0.conf:1", "/l1.conf:1"]);
        assert_eq!(f.cxxflags_from, ["/l0.conf:2"]);
        // CXXFLAGS took CFLAGS' value when it was assigned, as bash does.
        assert_eq!(
            f.cxxflags.unwrap(),
            ["-O2", "-pipe", "-Wp,-D_GLIBCXX_ASSERTIONS"]
        );
    }

    #[test]
    fn options_add_debug_and_lto_flags() {
        let f = flags(&[
            "CFLAGS='-O2'\nCXXFLAGS=${CFLAGS}\nDEBUG_CFLAGS=-g\nLTOFLAGS=\"\"\nOPTIONS=(strip debug !lto)\nOPTIONS+=(lto)\n",
        ]);
        let c = f.cflags.unwrap();
        assert_eq!(c[..2], ["-O2", "-g"]);
        assert_eq!(c.last().unwrap(), "-flto");
        assert!(f.lto);
        // DEBUG_CXXFLAGS unset: empty, as in bash.
        assert_eq!(
            f.cxxflags.unwrap()[1],
            "-ffile-prefix-map=/build/src=/usr/src/debug/probe"
        );
        let off = flags(&["CFLAGS=-O2\nOPTIONS=(!buildflags lto)\n"]);
        assert_eq!(off.cflags.unwrap(), Vec::<String>::new());
        assert!(!off.lto);
    }

    #[test]
    fn computed_values_are_refused_with_their_place() {
        let f = flags(&["CFLAGS=\"-O2 $(nproc)\"\nCXXFLAGS=\"$CFLAGS\"\n"]);
        let why = f.cflags.unwrap_err();
        assert!(
            why.contains("/l0.conf:1") && why.contains("$(nproc)"),
            "{why}"
        );
        assert!(f.cxxflags.is_err());
        let logic = flags(&["CFLAGS=-O2\nif true; then CFLAGS+=' -g'; fi\n"]);
        assert!(logic.cflags.unwrap_err().contains("shell logic"));
        // A later plain assignment makes it known again.
        let again = flags(&["CFLAGS=$(x)\nCFLAGS=-O1\n"]);
        assert_eq!(again.cflags.unwrap(), ["-O1"]);
    }
}
