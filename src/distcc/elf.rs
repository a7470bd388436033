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
    object_info(obj).map(|i| i.arch)
}

/// EF_ARM_ABI_FLOAT_HARD in a 32-bit ARM header's e_flags: set by the linker only.
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;
/// SHT_ARM_ATTRIBUTES, the `.ARM.attributes` section.
const SHT_ARM_ATTRIBUTES: u32 = 0x7000_0003;
/// Tag_ABI_VFP_args: 1 = arguments in VFP registers (hard-float).
const TAG_ABI_VFP_ARGS: u64 = 28;
const SHT_RELA: u32 = 4;
const SHT_REL: u32 = 9;
const SHT_SYMTAB: u32 = 2;
const SHF_EXECINSTR: u64 = 0x4;
/// More symbols than a probe unit could ever have: the rest is not read.
const MAX_SYMBOLS: usize = 1 << 16;
/// How many undefined builtins are kept (the first few name the problem).
const MAX_NAMED_BUILTINS: usize = 8;
/// More relocations than a probe unit could ever need: the rest is not read.
const MAX_RELOCATIONS: usize = 1 << 16;

const EM_ARM: u16 = 0x28;
const EM_X86_64: u16 = 0x3e;
const EM_AARCH64: u16 = 0xb7;

struct Elf<'a> {
    data: &'a [u8],
    little: bool,
    wide: bool,
}

/// One section header, widened to 64 bits.
#[derive(Debug, Clone, Copy)]
struct Section {
    name: u32,
    kind: u32,
    flags: u64,
    offset: u64,
    size: u64,
    /// For a symbol table, the section of its names.
    link: u32,
    info: u32,
    entsize: u64,
}

impl<'a> Elf<'a> {
    fn new(data: &'a [u8]) -> Result<Elf<'a>, String> {
        if data.len() < 52 || &data[..4] != b"\x7fELF" {
            return Err("the helper's answer is not an ELF object".into());
        }
        let wide = match data[4] {
            1 => false,
            2 => true,
            _ => return Err("unknown ELF class".into()),
        };
        let little = match data[5] {
            1 => true,
            2 => false,
            _ => return Err("unknown ELF byte order".into()),
        };
        Ok(Elf { data, little, wide })
    }

    fn u16_at(&self, o: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(o..o.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32_at(&self, o: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(o..o.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u64_at(&self, o: usize) -> Option<u64> {
        let b: [u8; 8] = self.data.get(o..o.checked_add(8)?)?.try_into().ok()?;
        Some(if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }

    /// A 32- or 64-bit address-sized field.
    fn word_at(&self, o: usize) -> Option<u64> {
        if self.wide {
            self.u64_at(o)
        } else {
            self.u32_at(o).map(u64::from)
        }
    }

    fn machine(&self) -> u16 {
        self.u16_at(18).unwrap_or(0)
    }

    /// Every section header the table really holds (a table that runs past the end stops there).
    fn sections(&self) -> Vec<Section> {
        let (shoff, entsize, num) = if self.wide {
            (self.u64_at(40), self.u16_at(58), self.u16_at(60))
        } else {
            (
                self.u32_at(32).map(u64::from),
                self.u16_at(46),
                self.u16_at(48),
            )
        };
        let (Some(shoff), Some(entsize), Some(num)) = (shoff, entsize, num) else {
            return Vec::new();
        };
        let entsize = usize::from(entsize);
        if entsize < if self.wide { 64 } else { 40 } {
            return Vec::new();
        }
        let Ok(shoff) = usize::try_from(shoff) else {
            return Vec::new();
        };
        (0..usize::from(num))
            .map_while(|i| {
                let sh = shoff.checked_add(i.checked_mul(entsize)?)?;
                if self.wide {
                    Some(Section {
                        name: self.u32_at(sh)?,
                        kind: self.u32_at(sh + 4)?,
                        flags: self.u64_at(sh + 8)?,
                        offset: self.u64_at(sh + 24)?,
                        size: self.u64_at(sh + 32)?,
                        link: self.u32_at(sh + 40)?,
                        info: self.u32_at(sh + 44)?,
                        entsize: self.u64_at(sh + 56)?,
                    })
                } else {
                    Some(Section {
                        name: self.u32_at(sh)?,
                        kind: self.u32_at(sh + 4)?,
                        flags: u64::from(self.u32_at(sh + 8)?),
                        offset: u64::from(self.u32_at(sh + 16)?),
                        size: u64::from(self.u32_at(sh + 20)?),
                        link: self.u32_at(sh + 24)?,
                        info: self.u32_at(sh + 28)?,
                        entsize: u64::from(self.u32_at(sh + 36)?),
                    })
                }
            })
            .collect()
    }

    fn bytes_of(&self, s: &Section) -> Option<&'a [u8]> {
        let start = usize::try_from(s.offset).ok()?;
        let len = usize::try_from(s.size).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }

    /// A section's name from the section-name string table.
    fn name_of(&self, sections: &[Section], s: &Section) -> Option<&'a [u8]> {
        let index = usize::from(self.u16_at(if self.wide { 62 } else { 50 })?);
        let names = self.bytes_of(sections.get(index)?)?;
        let rest = names.get(usize::try_from(s.name).ok()?..)?;
        Some(&rest[..rest.iter().position(|b| *b == 0)?])
    }

    /// The float ABI of a 32-bit ARM object. The assembler records it only in
    /// `.ARM.attributes` (Tag_ABI_VFP_args); the header flag is the fallback for objects
    /// without that section (linked executables carry both).
    fn arm_hard_float(&self, sections: &[Section]) -> bool {
        let attributes = sections
            .iter()
            .find(|s| s.kind == SHT_ARM_ATTRIBUTES)
            .and_then(|s| self.bytes_of(s));
        match attributes.and_then(|a| vfp_args(a, self.little)) {
            Some(vfp_args) => vfp_args == 1,
            None => self.u32_at(36).unwrap_or(0) & EF_ARM_ABI_FLOAT_HARD != 0,
        }
    }

    /// Undefined symbols named `__builtin_*`, the first few: a call the compiler took for a
    /// plain function because it does not know the builtin (one the Pi's newer headers use,
    /// in text preprocessed there). No library defines them, so such an object does not link
    /// (or a shared library linked from it fails when it is loaded).
    fn undefined_builtins(&self, sections: &[Section]) -> Vec<String> {
        let mut out = Vec::new();
        let Some(symtab) = sections.iter().find(|s| s.kind == SHT_SYMTAB) else {
            return out;
        };
        let (Some(table), Some(names)) = (
            self.bytes_of(symtab),
            sections
                .get(symtab.link as usize)
                .and_then(|s| self.bytes_of(s)),
        ) else {
            return out;
        };
        // Elf32_Sym: name, value, size, info, other, shndx (16 bytes); Elf64_Sym: name,
        // info, other, shndx, value, size (24 bytes).
        let (least, shndx_at) = if self.wide { (24, 6) } else { (16, 14) };
        let entsize = usize::try_from(symtab.entsize).unwrap_or(0).max(least);
        let base = usize::try_from(symtab.offset).unwrap_or(usize::MAX);
        for i in 0..(table.len() / entsize).min(MAX_SYMBOLS) {
            let at = base.saturating_add(i * entsize);
            let (Some(name), Some(shndx)) = (self.u32_at(at), self.u16_at(at + shndx_at)) else {
                break;
            };
            // SHN_UNDEF; symbol 0 is the null symbol, with no name.
            if shndx != 0 || name == 0 {
                continue;
            }
            let Some(rest) = names.get(name as usize..) else {
                continue;
            };
            let Some(end) = rest.iter().position(|b| *b == 0) else {
                continue;
            };
            let name = String::from_utf8_lossy(&rest[..end.min(200)]);
            if name.starts_with("__builtin_") {
                out.push(name.into_owned());
                if out.len() == MAX_NAMED_BUILTINS {
                    break;
                }
            }
        }
        out
    }

    /// The relocation types applied to code (sections marked executable).
    fn code_relocation_types(&self, sections: &[Section]) -> Vec<u32> {
        let mut types = Vec::new();
        for s in sections {
            let rela = match s.kind {
                SHT_RELA => true,
                SHT_REL => false,
                _ => continue,
            };
            let applies_to_code = sections
                .get(s.info as usize)
                .is_some_and(|t| t.flags & SHF_EXECINSTR != 0);
            if !applies_to_code {
                continue;
            }
            let (Ok(start), Ok(size)) = (usize::try_from(s.offset), usize::try_from(s.size)) else {
                continue;
            };
            // r_offset, r_info[, r_addend]: the type is r_info's low 32 (64-bit) or 8 bits.
            let word = if self.wide { 8 } else { 4 };
            let least = if rela { 3 * word } else { 2 * word };
            let entsize = usize::try_from(s.entsize).unwrap_or(0).max(least);
            let count = (size / entsize).min(MAX_RELOCATIONS - types.len());
            for i in 0..count {
                let Some(info) = start
                    .checked_add(i * entsize + word)
                    .and_then(|at| self.word_at(at))
                else {
                    break;
                };
                types.push(if self.wide {
                    (info & 0xffff_ffff) as u32
                } else {
                    (info & 0xff) as u32
                });
            }
            if types.len() >= MAX_RELOCATIONS {
                break;
            }
        }
        types
    }
}

/// How code reaches a global variable: through the GOT (what a PIE or PIC compile emits) or
/// by absolute address (a non-PIE compile). Objects from the two cannot always be linked
/// together (`relocation R_ARM_MOVW_ABS_NC ... recompile with -fPIC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeModel {
    Pie,
    NotPie,
}

impl std::fmt::Display for CodeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CodeModel::Pie => "PIE",
            CodeModel::NotPie => "non-PIE",
        })
    }
}

/// Relocation types that go through the GOT, and ones that use an absolute address.
fn relocation_classes(machine: u16) -> (&'static [u32], &'static [u32]) {
    match machine {
        // R_AARCH64_GOT_LD_PREL19, ADR_GOT_PAGE, LD64_GOT_LO12_NC, LD64_GOTPAGE_LO15;
        // ADR_PREL_PG_HI21(_NC), ADD_ABS_LO12_NC, LDST{8,16,32,64,128}_ABS_LO12_NC, MOVW_UABS_*.
        EM_AARCH64 => (
            &[309, 311, 312, 313],
            &[
                263, 264, 265, 266, 267, 268, 269, 270, 275, 276, 277, 278, 284, 285, 286, 299,
            ],
        ),
        // R_ARM_BASE_PREL, GOT_BREL, GOT_PREL; ABS32, MOVW_ABS_NC, MOVT_ABS, THM_MOVW_ABS_NC,
        // THM_MOVT_ABS.
        EM_ARM => (&[25, 26, 96], &[2, 43, 44, 47, 48]),
        // R_X86_64_GOTPCREL(X), REX_GOTPCRELX; R_X86_64_32(S). A PIE compile may also reach
        // a variable PC-relatively (copy relocations), which tells nothing.
        EM_X86_64 => (&[9, 41, 42], &[10, 11]),
        _ => (&[], &[]),
    }
}

/// What a probe's object tells about the compiler that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub arch: Arch,
    /// From the relocations of code that reads an extern variable; None when they say
    /// nothing (no code, as in an LTO object, or an architecture not classified).
    pub code_model: Option<CodeModel>,
    /// The compiler's `.comment` line, e.g. `GCC: (Debian 12.2.0-14) 12.2.0`.
    pub compiler: Option<String>,
    /// Builtins it calls as functions, which no library has (see `undefined_builtins`).
    pub undefined_builtins: Vec<String>,
}

impl ObjectInfo {
    /// The compiler's major version from `.comment` (`12` for `... 12.2.0`).
    pub fn compiler_major(&self) -> Option<u32> {
        self.compiler.as_deref().and_then(compiler_major)
    }
}

/// The major version in a `.comment` line: the last word that starts with digits.
pub fn compiler_major(comment: &str) -> Option<u32> {
    comment
        .split_whitespace()
        .rev()
        .find_map(|w| w.split('.').next()?.parse().ok())
}

impl Elf<'_> {
    /// A relocatable object whose header and tables stay inside the file, sections that do
    /// not overlap: what any compiler writes. Anything else is a damaged answer.
    fn check_sound(&self) -> Result<Vec<Section>, String> {
        let len = self.data.len() as u64;
        let header = if self.wide { 64 } else { 52 };
        if len < header {
            return Err(format!("cut to {len} bytes, inside its own header"));
        }
        if self.u16_at(16) != Some(1) {
            return Err("not a relocatable object (ELF type is not REL)".into());
        }
        let (shoff, entsize, num, strndx) = if self.wide {
            (
                self.u64_at(40),
                self.u16_at(58),
                self.u16_at(60),
                self.u16_at(62),
            )
        } else {
            (
                self.u32_at(32).map(u64::from),
                self.u16_at(46),
                self.u16_at(48),
                self.u16_at(50),
            )
        };
        let (Some(shoff), Some(entsize), Some(num), Some(strndx)) = (shoff, entsize, num, strndx)
        else {
            return Err("header cut short".into());
        };
        let want = if self.wide { 64 } else { 40 };
        if shoff == 0 || num == 0 {
            return Err("no section table".into());
        }
        if u64::from(entsize) != want {
            return Err(format!("section entries of {entsize} bytes, not {want}"));
        }
        let end = shoff.checked_add(u64::from(num) * want);
        if end.is_none_or(|e| e > len) || shoff < header {
            return Err(format!(
                "section table at {shoff} ({num} entries) outside the {len}-byte file"
            ));
        }
        if strndx >= num {
            return Err("section-name table index out of range".into());
        }
        let sections = self.sections();
        let mut spans: Vec<(u64, u64)> = Vec::new();
        for s in &sections {
            // NULL and NOBITS (.bss) take no room in the file.
            if s.kind == 0 || s.kind == 8 || s.size == 0 {
                continue;
            }
            let end = s.offset.checked_add(s.size);
            if end.is_none_or(|e| e > len) || s.offset < header {
                return Err(format!(
                    "a section at {} of {} bytes runs outside the {len}-byte file",
                    s.offset, s.size
                ));
            }
            spans.push((s.offset, s.offset + s.size));
        }
        spans.push((shoff, shoff + u64::from(num) * want));
        spans.sort_unstable();
        if spans.windows(2).any(|w| w[1].0 < w[0].1) {
            return Err("sections overlap".into());
        }
        Ok(sections)
    }
}

/// Everything the probe reads from an object; bounded on any input. An object that is not
/// sound ELF is an error, never a verdict.
pub fn object_info(obj: &[u8]) -> Result<ObjectInfo, String> {
    let elf = Elf::new(obj)?;
    let sections = elf.check_sound()?;
    let machine = elf.machine();
    let arch = match machine {
        EM_X86_64 => Arch::X86_64,
        0x03 => Arch::I386,
        EM_AARCH64 => Arch::Aarch64,
        0xf3 => Arch::Riscv64,
        EM_ARM => Arch::Arm {
            hard_float: elf.arm_hard_float(&sections),
        },
        m => Arch::Other(m),
    };
    let types = elf.code_relocation_types(&sections);
    let (got, absolute) = relocation_classes(machine);
    let code_model = if types.iter().any(|t| got.contains(t)) {
        Some(CodeModel::Pie)
    } else if types.iter().any(|t| absolute.contains(t)) {
        Some(CodeModel::NotPie)
    } else {
        None
    };
    let compiler = sections
        .iter()
        .find(|s| elf.name_of(&sections, s) == Some(b".comment"))
        .and_then(|s| elf.bytes_of(s))
        .and_then(|bytes| {
            bytes
                .split(|b| *b == 0)
                .map(String::from_utf8_lossy)
                .map(|s| s.trim().to_string())
                .find(|s| !s.is_empty())
        })
        .map(|s| s.chars().take(200).collect());
    Ok(ObjectInfo {
        arch,
        code_model,
        compiler,
        undefined_builtins: elf.undefined_builtins(&sections),
    })
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
/// Layout (ARM IHI 0045): 'A', then subsections [u32 length in the file's byte order, vendor NTBS, then tagged
/// blocks [uleb tag, u32 length, attributes]]; attributes are uleb tag + uleb value, except
/// tags 4, 5, 67 and odd tags above 32 (strings) and 32 (uleb + string).
fn vfp_args(section: &[u8], little: bool) -> Option<u64> {
    if section.first() != Some(&b'A') {
        return None;
    }
    // The length fields are in the object's byte order.
    let u32_at = |d: &[u8], o: usize| -> Option<usize> {
        let b: [u8; 4] = d.get(o..o.checked_add(4)?)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        } as usize)
    };
    let mut pos = 1;
    while pos < section.len() {
        let len = u32_at(section, pos)?;
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
            let block_len = u32_at(sub, p)?;
            let block_end = block_start.checked_add(block_len)?;
            let block = sub.get(..block_end)?;
            p += 4;
            // A block shorter than its own tag and length would never move on.
            if block_end < p {
                return None;
            }
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
        let mut obj = arm_object(b"", 0x0500_0400);
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
        obj[16] = 1; // ET_REL
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
    fn a_damaged_object_is_an_error() {
        let good = arm_object(&aeabi(b"\x1c\x01"), 0x0500_0000);
        assert!(object_info(&good).is_ok());
        let shoff = u32::from_le_bytes(good[32..36].try_into().unwrap()) as usize;
        let with = |at: usize, bytes: &[u8]| {
            let mut o = good.clone();
            o[at..at + bytes.len()].copy_from_slice(bytes);
            o
        };
        let past_end = (good.len() as u32 + 8).to_le_bytes();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("table past the end", with(32, &past_end), "outside"),
            (
                "table at 0xffffff00",
                with(32, &0xffff_ff00u32.to_le_bytes()),
                "outside",
            ),
            (
                "entry size 0",
                with(46, &0u16.to_le_bytes()),
                "entries of 0 bytes",
            ),
            (
                "no table",
                with(32, &0u32.to_le_bytes()),
                "no section table",
            ),
            (
                "overlapping sections",
                // The attributes section claims to run into the section table.
                with(shoff + 40 + 20, &((shoff - 52 + 8) as u32).to_le_bytes()),
                "overlap",
            ),
            ("cut to 70 bytes", good[..70].to_vec(), "outside"),
            ("the header alone", good[..52].to_vec(), "outside"),
            ("cut inside the header", good[..40].to_vec(), "not an ELF"),
            (
                "an executable",
                with(16, &2u16.to_le_bytes()),
                "not a relocatable",
            ),
        ];
        for (name, obj, says) in cases {
            match object_info(&obj) {
                Err(e) => assert!(e.contains(says), "{name}: {e}"),
                Ok(i) => panic!("{name}: passed as {:?}", i.arch),
            }
        }
    }

    /// Found by fuzzing: a section-scope block whose length is 0 looped for ever.
    #[test]
    fn a_block_shorter_than_its_header_ends_the_read() {
        let mut section = vec![b'A'];
        let sub_len = 4 + 6 + 5;
        section.extend_from_slice(&(sub_len as u32).to_le_bytes());
        section.extend_from_slice(b"aeabi\0");
        section.push(2); // section scope
        section.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(vfp_args(&section, true), None);
        assert_eq!(
            elf_arch(&arm_object(&section, 0x0500_0400)),
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
