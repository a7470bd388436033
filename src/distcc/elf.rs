//! What a helper's object is built for: the ELF header's machine, and for 32-bit ARM the
//! float ABI.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    I386,
    Aarch64,
    /// 32-bit ARM; `hard_float` from `.ARM.attributes` (or the header's EABI flags).
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
    let elf = Elf {
        data: obj,
        little: match obj[5] {
            1 => true,
            2 => false,
            _ => return Err("unknown ELF byte order".into()),
        },
    };
    Ok(match elf.u16_at(18).unwrap_or(0) {
        0x3e => Arch::X86_64,
        0x03 => Arch::I386,
        0xb7 => Arch::Aarch64,
        0xf3 => Arch::Riscv64,
        0x28 => Arch::Arm {
            hard_float: elf.arm_hard_float(),
        },
        m => Arch::Other(m),
    })
}

/// EF_ARM_ABI_FLOAT_HARD in a 32-bit ARM header's e_flags: set by the linker only.
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;
/// SHT_ARM_ATTRIBUTES, the `.ARM.attributes` section.
const SHT_ARM_ATTRIBUTES: u32 = 0x7000_0003;
/// Tag_ABI_VFP_args: 1 = arguments in VFP registers (hard-float).
const TAG_ABI_VFP_ARGS: u64 = 28;

struct Elf<'a> {
    data: &'a [u8],
    little: bool,
}

impl Elf<'_> {
    fn u16_at(&self, o: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(o..o + 2)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32_at(&self, o: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(o..o + 4)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// The float ABI of a 32-bit ARM object. The assembler records it only in
    /// `.ARM.attributes` (Tag_ABI_VFP_args); the header flag is the fallback for objects
    /// without that section (linked executables carry both).
    fn arm_hard_float(&self) -> bool {
        match self.arm_attributes().and_then(vfp_args) {
            Some(vfp_args) => vfp_args == 1,
            None => self.u32_at(36).unwrap_or(0) & EF_ARM_ABI_FLOAT_HARD != 0,
        }
    }

    /// The `.ARM.attributes` section's bytes, from the 32-bit section header table.
    fn arm_attributes(&self) -> Option<&[u8]> {
        let shoff = self.u32_at(32)? as usize;
        let shentsize = usize::from(self.u16_at(46)?);
        let shnum = usize::from(self.u16_at(48)?);
        if shentsize < 40 {
            return None;
        }
        (0..shnum).find_map(|i| {
            let sh = shoff.checked_add(i.checked_mul(shentsize)?)?;
            if self.u32_at(sh + 4)? != SHT_ARM_ATTRIBUTES {
                return None;
            }
            let offset = self.u32_at(sh + 16)? as usize;
            let size = self.u32_at(sh + 20)? as usize;
            self.data.get(offset..offset.checked_add(size)?)
        })
    }
}

fn uleb128(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn skip_ntbs(data: &[u8], pos: &mut usize) -> Option<()> {
    let n = data.get(*pos..)?.iter().position(|b| *b == 0)?;
    *pos += n + 1;
    Some(())
}

/// Tag_ABI_VFP_args from the `aeabi` subsection's file attributes: `Some(0)` (the base
/// AAPCS default) when the tag is absent, `None` when there is no readable `aeabi` block.
/// Layout (ARM IHI 0045): 'A', then subsections [u32 length, vendor NTBS, then tagged
/// blocks [uleb tag, u32 length, attributes]]; attributes are uleb tag + uleb value, except
/// tags 4, 5, 67 and odd tags above 32 (strings) and 32 (uleb + string).
fn vfp_args(section: &[u8]) -> Option<u64> {
    if section.first() != Some(&b'A') {
        return None;
    }
    let le32 = |d: &[u8], o: usize| -> Option<usize> {
        Some(u32::from_le_bytes(d.get(o..o + 4)?.try_into().ok()?) as usize)
    };
    let mut pos = 1;
    while pos < section.len() {
        let len = le32(section, pos)?;
        let sub = section.get(pos..pos.checked_add(len)?)?;
        if len < 5 {
            return None;
        }
        pos += len;
        let mut p = 4;
        let vendor_end = p + sub.get(p..)?.iter().position(|b| *b == 0)?;
        if &sub[p..vendor_end] != b"aeabi" {
            continue;
        }
        p = vendor_end + 1;
        while p < sub.len() {
            let block_start = p;
            let scope = uleb128(sub, &mut p)?;
            let block_len = le32(sub, p)?;
            let block_end = block_start.checked_add(block_len)?;
            let block = sub.get(..block_end)?;
            p += 4;
            if scope != 1 {
                p = block_end; // section or symbol attributes: not the file's ABI
                continue;
            }
            while p < block.len() {
                let tag = uleb128(block, &mut p)?;
                match tag {
                    4 | 5 | 67 => skip_ntbs(block, &mut p)?,
                    32 => {
                        uleb128(block, &mut p)?;
                        skip_ntbs(block, &mut p)?;
                    }
                    t if t > 32 && t % 2 == 1 => skip_ntbs(block, &mut p)?,
                    TAG_ABI_VFP_ARGS => return uleb128(block, &mut p),
                    _ => {
                        uleb128(block, &mut p)?;
                    }
                }
            }
            return Some(0);
        }
    }
    None
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

    /// A 32-bit ARM relocatable object with one `.ARM.attributes` section.
    fn arm_object(attributes: &[u8], e_flags: u32) -> Vec<u8> {
        let mut obj = vec![0u8; 52];
        obj[..4].copy_from_slice(b"\x7fELF");
        obj[4] = 1;
        obj[5] = 1;
        obj[18] = 0x28;
        obj[36..40].copy_from_slice(&e_flags.to_le_bytes());
        let data_at = obj.len();
        obj.extend_from_slice(attributes);
        let shoff = obj.len();
        obj[32..36].copy_from_slice(&(shoff as u32).to_le_bytes());
        obj[46..48].copy_from_slice(&40u16.to_le_bytes());
        obj[48..50].copy_from_slice(&2u16.to_le_bytes());
        obj.extend_from_slice(&[0u8; 40]); // the null section
        let mut sh = [0u8; 40];
        sh[4..8].copy_from_slice(&SHT_ARM_ATTRIBUTES.to_le_bytes());
        sh[16..20].copy_from_slice(&(data_at as u32).to_le_bytes());
        sh[20..24].copy_from_slice(&(attributes.len() as u32).to_le_bytes());
        obj.extend_from_slice(&sh);
        obj
    }

    /// `.ARM.attributes` with an `aeabi` file block holding `attrs`.
    fn aeabi(attrs: &[u8]) -> Vec<u8> {
        let mut block = vec![1u8];
        block.extend_from_slice(&((attrs.len() + 5) as u32).to_le_bytes());
        block.extend_from_slice(attrs);
        let mut sub = Vec::new();
        sub.extend_from_slice(&((4 + 6 + block.len()) as u32).to_le_bytes());
        sub.extend_from_slice(b"aeabi\0");
        sub.extend_from_slice(&block);
        let mut section = vec![b'A'];
        section.extend_from_slice(&sub);
        section
    }

    #[test]
    fn arm_float_abi_comes_from_the_attributes() {
        // CPU name (string), arch, then Tag_ABI_VFP_args = 1, as gcc writes for armhf.
        let hard = aeabi(b"\x057-A\0\x06\x0a\x1c\x01\x22\x01");
        assert_eq!(
            elf_arch(&arm_object(&hard, 0x0500_0000)),
            Ok(Arch::Arm { hard_float: true })
        );
        // No Tag_ABI_VFP_args: the base (soft-float) convention, whatever the header says.
        let soft = aeabi(b"\x057-A\0\x06\x0a");
        assert_eq!(
            elf_arch(&arm_object(&soft, 0x0500_0400)),
            Ok(Arch::Arm { hard_float: false })
        );
        // Unreadable attributes: the header flag decides.
        assert_eq!(
            elf_arch(&arm_object(b"B", 0x0500_0400)),
            Ok(Arch::Arm { hard_float: true })
        );
    }

    #[test]
    fn truncated_attributes_never_panic() {
        let hard = aeabi(b"\x057-A\0\x06\x0a\x1c\x01");
        for cut in 0..hard.len() {
            let _ = elf_arch(&arm_object(&hard[..cut], 0));
        }
    }
}
