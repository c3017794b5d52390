"""Session fixation: a session identifier planted in a link from another site.

An attacker who wants to ride a victim's session hands the victim a link that
already carries a session id the attacker knows (`/login?PHPSESSID=...`); the
victim's browser follows it from the attacker's page, so the request names a
framework's session parameter in its query string and its Referer points at a
different host. Either alone is ordinary: sites link to each other, and some
servers still rewrite session ids into URLs for their own pages.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

ATTACK_SESSION_FIXATION: Final = "session_fixation"
RULE_SESSION_OFFSITE: Final = "session-fixation-offsite"

#: session cookie names of common servers and frameworks, lower-case
SESSION_NAMES: Final = frozenset(
    {
        "jsessionid", "phpsessid", "asp.net_sessionid", "aspsessionid", "sessionid",
        "session_id", "session-id", "sessid", "laravel_session", "connect.sid",
        "_flask_session", "flask_session", "next-auth.session-token",
        "__secure-next-auth.session-token", "meteor_login_token", "rack.session",
        "play_session", "sails.sid", "cakephp", "ci_session", "koa.sess", "koa:sess", "koa.sid",
        "cfid", "cftoken", "zend_session_id", "shiny-token", "_session_id", "express.sid",
        "django_session", "sessionid_ss", "wp_session", "jsessionidsso", "cgisessid",
        "_rails_session", "beaker.session.id", "mojolicious", "dancer.session", "plack_session",
        "_shibsession", "bbsessionhash", "session_token", "auth_session", "cfsid",
    }
)  # fmt: skip
#: name shapes that make a session parameter whatever the framework calls it
_SUFFIXES: Final = ("session", "sessionid", "sessid", ".sid", ".session-token")
_PREFIXES: Final = ("aspsessionid", "_shibsession_", "ssess", "sess_")


def is_session_name(name: str) -> bool:
    """Whether a query parameter name is a session identifier's name."""
    lower = name.lower()
    if lower in SESSION_NAMES:
        return True
    if len(lower) > 64:
        return False
    return lower.endswith(_SUFFIXES) or lower.startswith(_PREFIXES)


def referer_is_offsite(referer: str, host: str) -> bool:
    """Whether the Referer names a host other than the request's Host."""
    try:
        referer_host = urlsplit(referer.strip()).hostname
    except ValueError:
        return False
    if not referer_host:
        return False
    own = host.strip().lower()
    if own.startswith("["):
        own = own[1 : own.find("]")] if "]" in own else own
    else:
        own = own.partition(":")[0]
    return bool(own) and _site(referer_host.lower()) != _site(own)


def _site(host: str) -> str:
    """The registrable part of a host name, near enough: `app.example.com` and
    `api.example.com` are one site (a single-page app calling its API), and so are
    `a.example.co.uk` and `b.example.co.uk`."""
    labels = host.rstrip(".").split(".")
    if len(labels) <= 2 or labels[-1].isdigit():
        return host
    keep = 3 if len(labels[-2]) <= 3 and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])
