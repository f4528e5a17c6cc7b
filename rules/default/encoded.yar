/*
 * Sovereign Workbench default rule pack: encoded payloads.
 *
 * Base64 text (in metadata, a pickle string, a JSON config) that decodes to an executable header or a
 * script. YARA's base64 modifier matches the encoding at each of the three alignments, so no decoding pass
 * is needed and the match is as long as the encoded marker (under 40 bytes).
 */

rule base64_executable
{
  meta:
    description = "base64 text that decodes to an executable (ELF, PE or Mach-O header): an encoded native payload"
    severity = "high"
    reference = "https://attack.mitre.org/techniques/T1027/"
  strings:
    $elf64 = "\x7fELF\x02\x01\x01" base64
    $elf32 = "\x7fELF\x01\x01\x01" base64
    $mz = "MZ\x90\x00\x03\x00\x00\x00" base64
    $dos_stub = "This program cannot be run in DOS mode" base64
    $macho = "\xcf\xfa\xed\xfe" base64
  condition:
    any of them
}

rule base64_script
{
  meta:
    description = "base64 text that decodes to a script (a shebang, Python that imports os/subprocess/socket, or a shell download)"
    severity = "high"
    reference = "https://attack.mitre.org/techniques/T1027/"
  strings:
    $shebang_sh = "#!/bin/sh" base64
    $shebang_bash = "#!/bin/bash" base64
    $shebang_env = "#!/usr/bin/env " base64
    $py_os = "import os" base64
    $py_sub = "import subprocess" base64
    $py_sock = "import socket" base64
    $py_dunder = "__import__(" base64
    $py_exec = "exec(" base64
    $curl = "curl -s" base64
    $wget = "wget -q" base64
    $dev_tcp = "/dev/tcp/" base64
  condition:
    any of them
}
