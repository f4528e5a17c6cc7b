/*
 * Sovereign Workbench default rule pack: executables inside model data.
 *
 * A model file holds tensors and metadata; native code inside it (after its first byte, inside an archive
 * member, or after a compression wrapper) is a dropper waiting for a loader bug or a second-stage script.
 * The scanner scans in overlapping chunks: `sovereign_start` is "file" only for the chunk that begins at
 * byte 0 of a file on disk, so "offset > 0" below means "not the very start of a file on disk".
 * See docs/scan-rules.md for the variables every rule can use.
 */

rule embedded_elf
{
  meta:
    description = "an ELF executable or shared library (Linux native code) embedded inside model data"
    severity = "high"
    reference = "https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html"
  strings:
    // e_ident: magic, class 1|2, data 1|2, version 1, OS ABI, ABI version, 7 padding bytes; then e_type 1..4
    $elf = { 7F 45 4C 46 (01 | 02) (01 | 02) 01 [9] (01 | 02 | 03 | 04) 00 }
  condition:
    sovereign_context == "bytes" and $elf and
    (sovereign_start != "file" or #elf > 1 or not $elf at 0)
}

rule embedded_pe
{
  meta:
    description = "a Windows PE executable or DLL (MZ header pointing at a PE signature) embedded inside model data"
    severity = "high"
    reference = "https://learn.microsoft.com/en-us/windows/win32/debug/pe-format"
  strings:
    // "PE\0\0" then the machine: i386, AMD64, ARM64, ARMNT
    $pe = { 50 45 00 00 (4C 01 | 64 86 | 64 AA | C4 01) }
  condition:
    sovereign_context == "bytes" and
    for any i in (1..#pe) : (
      for any k in (0x40..0x400) : (
        @pe[i] >= k and uint16(@pe[i] - k) == 0x5A4D and uint32(@pe[i] - k + 0x3C) == k and
        (sovereign_start != "file" or @pe[i] - k > 0)
      )
    )
}

rule embedded_macho
{
  meta:
    description = "a Mach-O executable, dylib or bundle (macOS native code) embedded inside model data"
    severity = "high"
    reference = "https://github.com/apple-oss-distributions/xnu/blob/main/EXTERNAL_HEADERS/mach-o/loader.h"
  strings:
    // 64- and 32-bit little-endian magic, CPU type x86_64 / arm64 / i386 / ppc64 (ABI64 flag), any subtype,
    // file type MH_EXECUTE (2), MH_DYLIB (6), MH_BUNDLE (8)
    $macho = { (CE | CF) FA ED FE (07 | 0C | 12) 00 00 (00 | 01) [4] (02 | 06 | 08) 00 00 00 }
    $macho_be = { FE ED FA (CE | CF) (00 | 01) 00 00 (07 | 0C | 12) [4] 00 00 00 (02 | 06 | 08) }
  condition:
    sovereign_context == "bytes" and ($macho or $macho_be) and
    (sovereign_start != "file" or #macho > 1 or #macho_be > 1 or not ($macho at 0 or $macho_be at 0))
}

rule executable_file
{
  meta:
    description = "an executable (ELF, PE or Mach-O), not a model: native code has no place in a model folder"
    severity = "medium"
    reference = "https://github.com/sovereign-workbench/sovereign-workbench/blob/main/docs/scan-rules.md"
  condition:
    sovereign_context == "bytes" and sovereign_start == "file" and (
      (uint32(0) == 0x464C457F and uint8(6) == 1) or
      uint32(0) == 0xFEEDFACF or uint32(0) == 0xFEEDFACE or uint32be(0) == 0xFEEDFACF or uint32be(0) == 0xFEEDFACE or
      (uint16(0) == 0x5A4D and uint32(0x3C) < 0x1000 and uint32(uint32(0x3C)) == 0x00004550)
    )
}
