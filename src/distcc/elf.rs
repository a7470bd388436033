//! What a helper's object is built for: the ELF header's machine, and for 32-bit ARM the
//! float ABI.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    I386,
    Aarch64,
    /// 32-bit ARM; `hard_float` from the EABI flags.
    Arm {
        hard_float: bool,
    },
    Riscv64,
    Other(u16),
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arch::X86_64 => f.write_str("x86_64"),
            Arch::I386 => f.write_str("i386"),
            Arch::Aarch64 => f.write_str("aarch64"),
            Arch::Arm { hard_float: true } => f.write_str("arm (hard-float)"),
            Arch::Arm { hard_float: false } => f.write_str("arm (soft-float)"),
            Arch::Riscv64 => f.write_str("riscv64"),
            Arch::Other(m) => write!(f, "ELF machine {m:#x}"),
        }
    }
}

/// The architecture makepkg builds for, from CARCH (or `--expect-arch`).
pub fn arch_for_carch(carch: &str) -> Option<Arch> {
    Some(match carch {
        "aarch64" | "armv8" | "arm64" => Arch::Aarch64,
        "armv7h" | "armv6h" | "armv7" => Arch::Arm { hard_float: true },
        "arm" | "armv5" | "armv5tel" => Arch::Arm { hard_float: false },
        "x86_64" | "amd64" => Arch::X86_64,
        "i686" | "i386" => Arch::I386,
        "riscv64" => Arch::Riscv64,
        _ => return None,
    })
}

/// Reads the machine of an ELF relocatable object.
pub fn elf_arch(obj: &[u8]) -> Result<Arch, String> {
    if obj.len() < 52 || &obj[..4] != b"\x7fELF" {
        return Err("the helper's answer is not an ELF object".into());
    }
    let little = match obj[5] {
        1 => true,
        2 => false,
        _ => return Err("unknown ELF byte order".into()),
    };
    let u16_at = |o: usize| {
        let b = [obj[o], obj[o + 1]];
        if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    let u32_at = |o: usize| {
        let b = [obj[o], obj[o + 1], obj[o + 2], obj[o + 3]];
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    Ok(match u16_at(18) {
        0x3e => Arch::X86_64,
        0x03 => Arch::I386,
        0xb7 => Arch::Aarch64,
        0xf3 => Arch::Riscv64,
        0x28 => {
            // e_flags of a 32-bit ELF header; EF_ARM_ABI_FLOAT_HARD = 0x400.
            Arch::Arm {
                hard_float: u32_at(36) & 0x400 != 0,
            }
        }
        m => Arch::Other(m),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elf_machines() {
        let mut obj = vec![0u8; 64];
        obj[..4].copy_from_slice(b"\x7fELF");
        obj[5] = 1;
        obj[18] = 0x28;
        obj[36..40].copy_from_slice(&0x0500_0400u32.to_le_bytes());
        assert_eq!(elf_arch(&obj), Ok(Arch::Arm { hard_float: true }));
        obj[18] = 0xb7;
        assert_eq!(elf_arch(&obj), Ok(Arch::Aarch64));
        assert!(elf_arch(b"not an elf").is_err());
    }
}
