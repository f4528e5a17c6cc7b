/*
 * Sovereign Workbench default rule pack: chat templates and instruction smuggling.
 *
 * GGUF files carry a Jinja chat template (tokenizer.chat_template) that servers render for every request;
 * a template that walks Python's object graph escapes Jinja's sandbox (or runs code where no sandbox is
 * used), and text the user cannot see can steer the model. These rules run on metadata strings only
 * (sovereign_context == "metadata"): code models legitimately hold tokens such as "__class__" in their
 * vocabulary, which the byte scan would otherwise flag.
 */

rule chat_template_code_execution
{
  meta:
    description = "a chat template that reaches Python internals or the OS from Jinja (sandbox escape / code execution when rendered)"
    severity = "critical"
    reference = "https://jinja.palletsprojects.com/en/stable/sandbox/"
  strings:
    $dunder = /(__class__|__globals__|__subclasses__|__mro__|__bases__|__builtins__|__import__|__init__|__getattribute__|__reduce__|func_globals|_TemplateReference__context)/
    $jinja_globals = /\b(cycler|joiner|lipsum|namespace|self|config|request|url_for|get_flashed_messages)\s{0,4}\.\s{0,4}(__|_TemplateReference)/
    $os_call = /\bos\s{0,4}\.\s{0,4}(popen|system|exec[lv]p?e?|spawn[lv]p?e?|remove|unlink|environ)\b/
    $subprocess = /\bsubprocess\b/
    $eval = /\b(eval|exec|compile|open)\s{0,4}\(\s{0,4}['"]/
    $attr_filter = /\|\s{0,4}attr\s{0,4}\(\s{0,4}['"](_|\\x5f)/
  condition:
    sovereign_context == "metadata" and sovereign_key matches /chat_template/ and any of them
}

rule hidden_unicode_instructions
{
  meta:
    description = "invisible Unicode in metadata: tag characters (U+E0000-E007F, text a model reads and a person cannot see) or bidirectional overrides that reorder what is displayed"
    severity = "high"
    reference = "https://embracethered.com/blog/posts/2024/hiding-and-finding-text-with-unicode-tags/"
  strings:
    $tags = { F3 A0 (80 | 81) [1] F3 A0 (80 | 81) }
    $bidi = { E2 80 (AA | AB | AC | AD | AE) }
    $bidi_isolate = { E2 81 (A6 | A7 | A8 | A9) }
  condition:
    sovereign_context == "metadata" and ($tags or $bidi or $bidi_isolate)
}

rule chat_template_injected_instructions
{
  meta:
    description = "a chat template that injects instructions the user did not write (override or exfiltration text, hidden zero-width runs)"
    severity = "high"
    reference = "https://owasp.org/www-project-top-10-for-large-language-model-applications/"
  strings:
    $override = /ignore\s{1,4}(all\s{1,4})?(the\s{1,4})?(previous|prior|above|earlier)\s{1,4}(instructions|messages|rules)/ nocase
    $exfil = /(send|post|upload|exfiltrate)\s{1,4}[^\n]{0,64}(api[_\s-]?keys?|passwords?|credentials|secrets|ssh\s{1,4}keys?|tokens?)\s[^\n]{0,64}(https?:\/\/|to\s{1,4}the\s{1,4}url)/ nocase
    $zw = { E2 80 8B E2 80 8B E2 80 8B }
  condition:
    sovereign_context == "metadata" and sovereign_key matches /chat_template/ and any of them
}

rule chat_template_secrecy_wording
{
  meta:
    description = "a chat template that tells the model to keep something from the user (real templates do this for tool-call plumbing: shown for review, not blocking)"
    severity = "low"
    reference = "https://owasp.org/www-project-top-10-for-large-language-model-applications/"
  strings:
    $secret = /(do\s{1,4}not|don't|never)\s{1,4}(tell|reveal|mention|disclose|show)\s{1,4}(this|these|the\s{1,4}user|anyone)/ nocase
  condition:
    sovereign_context == "metadata" and sovereign_key matches /chat_template/ and $secret
}
