/*
 * Sovereign Workbench default rule pack: shell droppers and reverse shells.
 *
 * A model file never needs a command line. These strings turn up in pickles (os.system arguments), in
 * chat templates and metadata that a later tool renders or evaluates, and in "setup" members of archives.
 * Every match is at most a few hundred bytes long (bounded repetitions only): see docs/scan-rules.md.
 *
 * Documentation beside a model (README.md, *.txt...) may quote an install one-liner; no loader runs it, so
 * there the same patterns are reported as medium (shown, not blocking). Code beside a model (a
 * modeling_*.py that `trust_remote_code` imports) is judged like model data.
 */

rule shell_dropper
{
  meta:
    description = "a download-and-execute command line (curl/wget output piped into a shell, or saved, made executable and run)"
    severity = "high"
    reference = "https://attack.mitre.org/techniques/T1105/"
  strings:
    $pipe = /\b(curl|wget)\b[^\n\r|;&]{0,256}\|\s{0,8}(sudo\s{1,8})?(\/(usr\/)?bin\/)?(ba|da|z|k)?sh\b/
    $save_run = /\b(curl|wget)\b[^\n\r;&]{0,256}(-o|-O|--output)\s{0,8}\S{1,128}\s{0,8}(;|&&)\s{0,8}chmod\s{1,8}(\+x|[0-7]{3,4})/
    $py_pipe = /\b(curl|wget)\b[^\n\r|;&]{0,256}\|\s{0,8}python[0-9.]{0,4}\b/
    $fetch_exec = /\bpowershell\b[^\n\r]{0,128}\b(iex|Invoke-Expression)\b[^\n\r]{0,128}\b(DownloadString|Invoke-WebRequest|iwr)\b/ nocase
  condition:
    not sovereign_name matches /\.(md|markdown|txt|rst|html?)$/i and any of them
}

rule shell_dropper_in_documentation
{
  meta:
    description = "a download-and-execute command line (curl/wget output piped into a shell, or saved, made executable and run), quoted in documentation beside the model"
    severity = "medium"
    reference = "https://attack.mitre.org/techniques/T1105/"
  strings:
    $pipe = /\b(curl|wget)\b[^\n\r|;&]{0,256}\|\s{0,8}(sudo\s{1,8})?(\/(usr\/)?bin\/)?(ba|da|z|k)?sh\b/
    $save_run = /\b(curl|wget)\b[^\n\r;&]{0,256}(-o|-O|--output)\s{0,8}\S{1,128}\s{0,8}(;|&&)\s{0,8}chmod\s{1,8}(\+x|[0-7]{3,4})/
    $py_pipe = /\b(curl|wget)\b[^\n\r|;&]{0,256}\|\s{0,8}python[0-9.]{0,4}\b/
    $fetch_exec = /\bpowershell\b[^\n\r]{0,128}\b(iex|Invoke-Expression)\b[^\n\r]{0,128}\b(DownloadString|Invoke-WebRequest|iwr)\b/ nocase
  condition:
    sovereign_name matches /\.(md|markdown|txt|rst|html?)$/i and any of them
}

rule reverse_shell
{
  meta:
    description = "a reverse-shell one-liner (an interactive shell wired to a network socket)"
    severity = "critical"
    reference = "https://attack.mitre.org/techniques/T1059/004/"
  strings:
    $dev_tcp = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/
    $bash_i = /sh -i\s{0,8}(>&|&>|>\s{0,8}&)/
    $nc_e = /\b(nc|ncat|netcat)(\.traditional)? [^\n\r|;]{0,128}-(e|c) {1,8}(\/usr)?\/bin\/(ba|da|z)?sh\b/
    $mkfifo = /\bmkfifo\s[^\n\r]{0,128}\b(nc|ncat|netcat|openssl\s{1,8}s_client)\b/
    $py_socket = /socket\.socket\([^\n\r]{0,512}(pty\.spawn|os\.dup2|subprocess\.(call|Popen|run))/
    $socat = /\bsocat\b[^\n\r]{0,128}\bexec:[^\n\r]{0,64}\b(ba)?sh\b/ nocase
    $php = /\bfsockopen\s{0,4}\([^\n\r]{0,256}(exec|shell_exec|system|passthru|proc_open)\s{0,4}\(/
  condition:
    not sovereign_name matches /\.(md|markdown|txt|rst|html?)$/i and any of them
}

rule reverse_shell_in_documentation
{
  meta:
    description = "a reverse-shell one-liner (an interactive shell wired to a network socket), quoted in documentation beside the model"
    severity = "medium"
    reference = "https://attack.mitre.org/techniques/T1059/004/"
  strings:
    $dev_tcp = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/
    $bash_i = /sh -i\s{0,8}(>&|&>|>\s{0,8}&)/
    $nc_e = /\b(nc|ncat|netcat)(\.traditional)? [^\n\r|;]{0,128}-(e|c) {1,8}(\/usr)?\/bin\/(ba|da|z)?sh\b/
    $mkfifo = /\bmkfifo\s[^\n\r]{0,128}\b(nc|ncat|netcat|openssl\s{1,8}s_client)\b/
    $py_socket = /socket\.socket\([^\n\r]{0,512}(pty\.spawn|os\.dup2|subprocess\.(call|Popen|run))/
    $socat = /\bsocat\b[^\n\r]{0,128}\bexec:[^\n\r]{0,64}\b(ba)?sh\b/ nocase
    $php = /\bfsockopen\s{0,4}\([^\n\r]{0,256}(exec|shell_exec|system|passthru|proc_open)\s{0,4}\(/
  condition:
    sovereign_name matches /\.(md|markdown|txt|rst|html?)$/i and any of them
}
