//! Property tests: the document round trip and the host grammar's stability.

use alarm_distcc::document::Document;
use alarm_distcc::hosts::HostSpec;
use proptest::prelude::*;

/// Text made of the characters that matter to a shell lexer, so quotes, arrays, comments,
/// continuations and keywords collide often.
fn shellish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "A=",
        "MAKEFLAGS=",
        "BUILDENV+=(",
        "(",
        ")",
        "\"",
        "'",
        "\\",
        "\n",
        " ",
        "\t",
        "#",
        "$(",
        "${",
        "}",
        "`",
        "-j4",
        "distcc",
        "!distcc",
        "if ",
        "then ",
        "fi",
        "case ",
        " in ",
        ";;",
        "esac",
        "{ ",
        "}",
        ";",
        "&&",
        "|",
        "<<EOF\n",
        "EOF\n",
        "export ",
        "x",
        "=",
        "\r",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_print_is_identity_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let doc = Document::parse(bytes.clone());
        prop_assert_eq!(doc.to_bytes(), bytes);
    }

    #[test]
    fn parse_print_is_identity_on_shell_text(text in shellish()) {
        let doc = Document::parse(text.clone());
        prop_assert_eq!(doc.to_bytes(), text.as_bytes());
        // Items partition the text: contiguous, in order, covering it.
        let mut at = 0;
        for item in doc.items() {
            prop_assert_eq!(item.span.start, at);
            prop_assert!(item.span.end > item.span.start);
            at = item.span.end;
        }
        prop_assert_eq!(at, text.len());
    }

    #[test]
    fn edits_keep_the_document_parseable(text in shellish(), n in 1u32..64) {
        let doc = Document::parse(text);
        for edited in [
            alarm_distcc::edit::set_jobs(&doc, n, None),
            alarm_distcc::edit::set_distcc(&doc, true),
        ].into_iter().flatten() {
            let bytes = edited.doc.as_bytes().to_vec();
            prop_assert_eq!(Document::parse(bytes.clone()).to_bytes(), bytes);
        }
    }

    #[test]
    fn host_spec_parse_format_parse_is_stable(token in "[a-z0-9.:/,=@\\[\\]+-]{1,30}") {
        if let Ok(spec) = token.parse::<HostSpec>() {
            let formatted = spec.to_string();
            let again: HostSpec = formatted.parse().expect("formatted spec parses");
            prop_assert_eq!(&again, &spec);
            prop_assert_eq!(again.to_string(), formatted);
        }
    }

    #[test]
    fn generated_specs_round_trip(
        host in prop_oneof![
            "[a-z]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z][a-z0-9]{0,6}){0,2}",
            (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
            Just("[::1]".to_string()),
            Just("[fe80::1]".to_string()),
        ],
        port in prop::option::of(1u16..=65535),
        slots in prop::option::of(1u32..=1024),
        lzo in any::<bool>(),
        cpp in any::<bool>(),
    ) {
        let mut options = Vec::new();
        if lzo { options.push(alarm_distcc::hosts::HostOption::Lzo); }
        if lzo && cpp { options.push(alarm_distcc::hosts::HostOption::Cpp); }
        prop_assume!(host != "localhost");
        let spec = HostSpec::Tcp { host, port, slots, options };
        let parsed: HostSpec = spec.to_string().parse().unwrap();
        prop_assert_eq!(parsed, spec);
    }
}

/// The long run of the same properties (`cargo test --release --test props -- --ignored`);
/// `ALARM_DISTCC_FUZZ_CASES` sets the number of cases.
mod long {
    use super::*;

    fn cases() -> u32 {
        std::env::var("ALARM_DISTCC_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200_000)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        #[test]
        #[ignore = "long-running; see BENCHMARKS.md"]
        fn long_document_round_trip(text in shellish(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut all = text.into_bytes();
            all.extend(bytes);
            let doc = Document::parse(all.clone());
            prop_assert_eq!(doc.to_bytes(), all);
            if let Ok(e) = alarm_distcc::edit::set_jobs(&doc, 8, None) {
                let b = e.doc.as_bytes().to_vec();
                prop_assert_eq!(Document::parse(b.clone()).to_bytes(), b);
            }
        }

        #[test]
        #[ignore = "long-running; see BENCHMARKS.md"]
        fn long_host_spec_stability(token in "[a-zA-Z0-9.:/,=@\\[\\]+_%-]{1,40}") {
            if let Ok(spec) = token.parse::<HostSpec>() {
                let again: HostSpec = spec.to_string().parse().unwrap();
                prop_assert_eq!(again, spec);
            }
        }
    }
}
