//! The ELF reader against real objects from the ARM cross compilers (64- and 32-bit, little
//! and big endian, PIE and not) and against damaged copies of them.

mod common;

use alarm_distcc::distcc::elf::{Arch, CodeModel, object_info};
use common::distccd::missing;
use proptest::prelude::*;
use std::process::Command;

/// Reads a global through code: PIE compiles go through the GOT, non-PIE ones do not.
const UNIT: &str = "extern int g; int f(void) { return g; }\n";

fn compile(compiler: &str, flags: &[&str]) -> Vec<u8> {
    compile_unit(compiler, flags, UNIT)
}

fn compile_unit(compiler: &str, flags: &[&str], unit: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("t.c");
    std::fs::write(&src, unit).unwrap();
    let obj = dir.path().join("t.o");
    let out = Command::new(compiler)
        .args(flags)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{compiler} {flags:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(obj).unwrap()
}

fn major_of(compiler: &str) -> u32 {
    let out = Command::new(compiler).arg("-dumpversion").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

const CROSS: [&str; 2] = ["aarch64-linux-gnu-gcc", "arm-linux-gnueabihf-gcc"];

#[test]
fn real_objects_show_arch_code_model_and_compiler() {
    if let Some(why) = missing(&CROSS) {
        return common::skip("real_objects_show_arch_code_model_and_compiler", &why);
    }
    let cases: [(&str, &[&str], Arch, CodeModel); 8] = [
        ("aarch64-linux-gnu-gcc", &[], Arch::Aarch64, CodeModel::Pie),
        (
            "aarch64-linux-gnu-gcc",
            &["-fno-pie"],
            Arch::Aarch64,
            CodeModel::NotPie,
        ),
        (
            "aarch64-linux-gnu-gcc",
            &["-O2", "-mbig-endian"],
            Arch::Aarch64,
            CodeModel::Pie,
        ),
        (
            "aarch64-linux-gnu-gcc",
            &["-O2", "-mbig-endian", "-fno-pie"],
            Arch::Aarch64,
            CodeModel::NotPie,
        ),
        (
            "arm-linux-gnueabihf-gcc",
            &["-O2"],
            Arch::Arm { hard_float: true },
            CodeModel::Pie,
        ),
        (
            "arm-linux-gnueabihf-gcc",
            &["-O2", "-fno-pie"],
            Arch::Arm { hard_float: true },
            CodeModel::NotPie,
        ),
        (
            "arm-linux-gnueabihf-gcc",
            &["-mbig-endian"],
            Arch::Arm { hard_float: true },
            CodeModel::Pie,
        ),
        (
            "arm-linux-gnueabihf-gcc",
            &["-mbig-endian", "-marm", "-fno-pie"],
            Arch::Arm { hard_float: true },
            CodeModel::NotPie,
        ),
    ];
    for (compiler, flags, arch, model) in cases {
        let info = object_info(&compile(compiler, flags)).unwrap();
        assert_eq!(info.arch, arch, "{compiler} {flags:?}");
        assert_eq!(info.code_model, Some(model), "{compiler} {flags:?}");
        let comment = info.compiler.clone().expect(".comment");
        assert!(comment.starts_with("GCC: "), "{comment}");
        assert_eq!(info.compiler_major(), Some(major_of(compiler)), "{comment}");
    }
    // Soft-float ARM is still told apart, and an LTO object carries no code to classify.
    let soft = object_info(&compile("arm-linux-gnueabihf-gcc", &["-mfloat-abi=soft"])).unwrap();
    assert_eq!(soft.arch, Arch::Arm { hard_float: false });
    let lto = object_info(&compile("aarch64-linux-gnu-gcc", &["-O2", "-flto"])).unwrap();
    assert_eq!((lto.arch, lto.code_model), (Arch::Aarch64, None));
}

#[test]
fn native_objects_read_too() {
    if let Some(why) = missing(&["cc"]) {
        return common::skip("native_objects_read_too", &why);
    }
    // -mcmodel=small exists for x86_64 and aarch64 only (armv7 gcc rejects it).
    let carch = common::toolchain_carch();
    let flags: &[&str] = match carch.as_str() {
        "x86_64" | "aarch64" => &["-O2", "-fno-pie", "-mcmodel=small"],
        _ => &["-O2", "-fno-pie"],
    };
    let info = object_info(&compile("cc", flags)).unwrap();
    match carch.as_str() {
        "armv7h" => assert!(matches!(info.arch, Arch::Arm { .. }), "{:?}", info.arch),
        "i686" => assert_eq!(info.arch, Arch::I386),
        arch => assert_eq!(info.arch.to_string(), arch),
    }
    assert!(info.compiler.is_some());
}

/// What an older gcc makes of a builtin it does not know, in text a newer gcc preprocessed
/// (`__builtin_c23_va_start` from gcc 15's <stdarg.h>): a call to a function of that name,
/// which no library has. Plain undefined symbols (`g`, `puts`) are not named.
#[test]
fn builtins_called_as_functions_are_named() {
    if let Some(why) = missing(&CROSS) {
        return common::skip("builtins_called_as_functions_are_named", &why);
    }
    const CALLS_UNKNOWN: &str = "extern int g; int puts(const char *);\n\
        int f(void) { puts(\"x\"); return __builtin_c23_va_start(g) + __builtin_alarm_distcc_unknown(); }\n";
    // gcc 14 and later refuse an implicit declaration unless told otherwise.
    let permissive = [
        "-Wno-implicit-function-declaration",
        "-Wno-error=implicit-function-declaration",
    ];
    for (compiler, extra) in [
        ("aarch64-linux-gnu-gcc", &[][..]),
        ("aarch64-linux-gnu-gcc", &["-mbig-endian"][..]),
        ("arm-linux-gnueabihf-gcc", &[][..]),
        ("arm-linux-gnueabihf-gcc", &["-mbig-endian"][..]),
    ] {
        let flags: Vec<&str> = permissive.iter().chain(extra).copied().collect();
        let info = object_info(&compile_unit(compiler, &flags, CALLS_UNKNOWN)).unwrap();
        assert_eq!(
            info.undefined_builtins,
            ["__builtin_c23_va_start", "__builtin_alarm_distcc_unknown"],
            "{compiler} {extra:?}"
        );
        // A sound object (undefined `g` only) names none.
        let sound = object_info(&compile(compiler, extra)).unwrap();
        assert!(sound.undefined_builtins.is_empty(), "{compiler} {extra:?}");
    }
}

fn real_objects() -> Vec<Vec<u8>> {
    if missing(&CROSS).is_some() {
        return Vec::new();
    }
    vec![
        compile("aarch64-linux-gnu-gcc", &[]),
        compile("aarch64-linux-gnu-gcc", &["-mbig-endian", "-fno-pie"]),
        compile("arm-linux-gnueabihf-gcc", &[]),
        compile("arm-linux-gnueabihf-gcc", &["-mbig-endian"]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Real objects with bytes overwritten or cut: the reader answers, it never panics or
    /// runs away, and the header it can still read gives the same machine.
    #[test]
    fn damaged_objects_never_panic(
        which in 0usize..4,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..24),
        cut in any::<prop::sample::Index>(),
    ) {
        static OBJECTS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let objects = OBJECTS.get_or_init(real_objects);
        let mut obj = match objects.get(which) {
            Some(o) => o.clone(),
            None => (0..600u32).map(|i| (i * 37 % 251) as u8).collect(),
        };
        for (at, byte) in &edits {
            let i = at.index(obj.len());
            obj[i] = *byte;
        }
        obj.truncate(cut.index(obj.len() + 1));
        let _ = object_info(&obj);
    }

    /// Any bytes at all behind a valid ELF identification.
    #[test]
    fn arbitrary_bytes_never_panic(class in 1u8..3, order in 1u8..3, body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut obj = b"\x7fELF".to_vec();
        obj.extend_from_slice(&[class, order, 1]);
        obj.extend_from_slice(&body);
        let _ = object_info(&obj);
    }
}
