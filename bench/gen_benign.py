"""Generate the benign corpus in ``tests/data/benign/`` (deterministic, fixed seed).

Every request is something a real browser or API client sends: page views and asset
loads with browser headers, REST calls with bearer tokens, JSON bodies full of prose,
code snippets, Markdown and CMS HTML, form posts, small multipart uploads, GraphQL,
OAuth flows and webhooks. It deliberately includes what a naive WAF flags: SQL words in
prose ("select", "union", "drop", "insert into our newsletter"), apostrophes and quotes
(O'Reilly, "rock 'n' roll"), code in code-sharing fields, HTML from CMS editors, long
tokens (JWTs, base64 images, hashes), URLs in parameters, and non-Latin scripts.
``lookalikes.jsonl`` is written by hand (the `LOOKALIKES` table); the other files are
generated from the pools below.

    python bench/gen_benign.py            # rewrite tests/data/benign/*.jsonl
    python bench/gen_benign.py --check    # exit 1 if the files are not what it writes
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import struct
import sys
import uuid
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

SEED: Final = 20260601
OUT_DIR: Final = Path(__file__).resolve().parent.parent / "tests" / "data" / "benign"

Record = dict[str, Any]
Headers = list[list[str]]

# --- clients ---------------------------------------------------------------------------

BROWSERS: Final = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
]
API_CLIENTS: Final = [
    "curl/8.5.0",
    "curl/7.88.1",
    "python-requests/2.31.0",
    "python-httpx/0.27.0",
    "axios/1.6.8",
    "okhttp/4.12.0",
    "PostmanRuntime/7.37.3",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "Dart/3.3 (dart:io)",
    "MyShopApp/5.12.1 (iPhone; iOS 17.4.1; Scale/3.00)",
    "Ktor client",
    "Apache-HttpClient/4.5.14 (Java/17.0.10)",
]
LANGUAGES: Final = [
    "en-US,en;q=0.9",
    "en-GB,en;q=0.9,en-US;q=0.8",
    "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7",
    "fr-FR,fr;q=0.9,en;q=0.8",
    "ja,en-US;q=0.9,en;q=0.8",
    "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7",
    "zh-CN,zh;q=0.9,en;q=0.8",
    "he-IL,he;q=0.9,en-US;q=0.8,en;q=0.7",
    "es-419,es;q=0.9",
    "pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7",
]
HTML_ACCEPT: Final = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
SITE: Final = "https://shop.example.com"

# --- text pools ------------------------------------------------------------------------

FIRST_NAMES: Final = [
    "Olivia",
    "Liam",
    "Sean",
    "Siobhán",
    "Zoë",
    "José",
    "Ngozi",
    "Mei",
    "Dmitri",
    "Aisha",
    "François",
    "Björn",
    "Priya",
    "Tomás",
    "Hana",
    "Kwame",
    "Léa",
    "Mateo",
    "Yuki",
    "Fatima",
]
LAST_NAMES: Final = [
    "O'Brien",
    "O'Reilly",
    "D'Angelo",
    "Smith-Jones",
    "van der Berg",
    "Müller",
    "García",
    "Nakamura",
    "Ivanova",
    "Okafor",
    "Dubois",
    "MacDonald",
    "Nguyễn",
    "Kowalski",
    "Al-Sayed",
    "Ó Súilleabháin",
    "de la Cruz",
    "Петров",
    "李",
    "Cohen",
]
CITIES: Final = [
    ("Dublin", "IE", "D02 X285"),
    ("München", "DE", "80331"),
    ("São Paulo", "BR", "01310-100"),
    ("Kraków", "PL", "31-001"),
    ("Québec", "CA", "G1R 4S9"),
    ("Tōkyō", "JP", "100-0005"),
    ("Austin", "US", "78701"),
    ("London", "GB", "EC1A 1BB"),
    ("Tel Aviv", "IL", "6100000"),
    ("Lagos", "NG", "100001"),
    ("Zürich", "CH", "8001"),
    ("Москва", "RU", "101000"),
]
STREETS: Final = [
    "12 O'Connell Street",
    "Hauptstraße 5",
    "Rua Augusta, 1500 - apto 42",
    "ul. Floriańska 3/7",
    "221B Baker Street",
    "1600 Amphitheatre Pkwy, Suite #200",
    "Calle 13 #45-20",
    "4-2-8 Shibakōen",
    "Rothschild Blvd 22, Apt. 5",
    "Bahnhofstrasse 1 (c/o Müller AG)",
]
PHONES: Final = [
    "+1 (415) 555-0132",
    "+44 20 7946 0958",
    "+49 30 901820",
    "+353 1 555 0199",
    "+81 3-1234-5678",
    "+55 11 91234-5678",
    "(512) 555-0187",
    "+7 495 123-45-67",
    "+972 3-555-0101",
    "+234 803 555 0142",
]
SEARCHES: Final = [
    "O'Reilly python cookbook",
    "rock 'n' roll t-shirt",
    '"noise cancelling" headphones',
    "men's running shoes size 10",
    "children's books about space",
    "what's new in python 3.12",
    "select comfort mattress",
    "union jack flag 3x5",
    "drop leaf table",
    "or 1 day shipping",
    "insert molding",
    "table lamp with usb",
    '1/2" drill bit',
    "50% off sale",
    "c++ primer",
    "where to buy coffee & tea",
    "best 4k tv < $500",
    "java vs kotlin",
    "café au lait mug",
    "naïve bayes tutorial",
    'smart tv 55"',
    "delete my account",
    "update firmware router",
    "script writing software",
    "alert bracelet for seniors",
    "exec chair ergonomic",
    "drop shipping business",
    "sleep mask silk",
    "benchmark sql server",
    "having a baby checklist",
    "order by phone",
    "kids' raincoat",
    "ʻukulele strings",
    "東京 ホテル",
    "кроссовки nike",
    "מתנה ליום הולדת",
    "手机壳 iphone 15",
    "emoji 🎉 balloons",
    "ñandú peluche",
    "l'oréal shampoo",
]
PROSE: Final = [
    "I'd like to select a different delivery slot, the current one doesn't work for me.",
    "Great product! We ordered two and they're both working fine after 3 months.",
    "Please drop me an email when the item is back in stock.",
    "Can you update my shipping address? I moved last week.",
    "The union of our two teams starts on Monday; please add everyone to the channel.",
    "Sign me up and insert into our newsletter list the whole marketing team, thanks!",
    "We had 1 or 2 issues with the sizing, otherwise perfect.",
    "Where's my order? It says \"shipped\" but the tracking hasn't changed since Tuesday.",
    "The instructions say to select all the parts, then drop them into the tray.",
    "It's a 5-star from me -- fast delivery & great packaging.",
    "Is the 'Pro' version compatible with the older charger (model A1234)?",
    'Our CTO said: "ship it when it\'s ready, not before".',
    "My kid's school uses it for science class; the teacher loves the drag & drop editor.",
    "Note to self: order by Friday so it arrives before the 24th.",
    "Delete the duplicate entry from my wishlist, please.",
    "Execution was flawless; the contractor finished a day early.",
    "Who's responsible for the union dues this quarter?",
    'The table is sturdy, though one leg was 1/4" shorter than the others.',
    "Meeting notes: 1) budget 2) hiring 3) Q3 roadmap; action items below.",
    "Thanks, Seán — I'll forward this to accounting@example.com for sign-off.",
    "Цвет отличный, размер подошёл. Спасибо!",
    "とても使いやすいです。また購入したいと思います。",
    "非常好用，物流也很快。",
    "المنتج رائع والتوصيل كان سريعا",
    "המוצר הגיע מהר ובאיכות מעולה",
    "Très bon rapport qualité/prix, je recommande !",
    "Die Lieferung kam pünktlich, aber die Verpackung war beschädigt.",
    "Love it 😍👍🏽 would buy again",
    "Half the price of the competitor's & twice as good; 10/10.",
    "Please cancel order #10423 -- I placed it twice by mistake.",
]
TITLES: Final = [
    "Quarterly report 2024",
    "How we cut our AWS bill by 40%",
    "Release notes v2.3.1",
    "Onboarding checklist",
    "Why we moved from MySQL to PostgreSQL",
    "Team offsite: what's next?",
    "A beginner's guide to SQL joins",
    "Select the right database for your workload",
    "Drop-in replacement for our old cache",
    "Union-find in 20 lines",
    "Résumé tips for 2024",
    "Q&A with our CEO",
    "What's new in Kubernetes 1.30",
    "10 tips for better sleep",
]
TAGS: Final = [
    "python",
    "sql",
    "devops",
    "kubernetes",
    "c#",
    "c++",
    "node.js",
    "how-to",
    "q&a",
    "release",
    "security",
    "performance",
    "tutorial",
    "go",
    "rust",
    "data-science",
]
FILE_NAMES: Final = [
    "report-2024.pdf",
    "Q3 Budget (final).xlsx",
    "invoice_10423.pdf",
    "photo 2024-05-01.jpg",
    "résumé_María_García.docx",
    "meeting-notes.md",
    "export.csv",
    "logo@2x.png",
    "contract_v2 - signed.pdf",
    "holiday plan.txt",
    "data (1).json",
    "IMG_20240501_101500.heic",
]

CODE_SNIPPETS: Final = [
    (
        "python",
        "import requests\n\nresp = requests.get('https://api.example.com/items', "
        "params={'page': 2})\nresp.raise_for_status()\nprint(resp.json()['items'][0])\n",
    ),
    (
        "python",
        "def fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n"
        "        a, b = b, a + b\n    return a\n",
    ),
    (
        "python",
        "with open('report-2024.csv', newline='') as f:\n    rows = list(csv.DictReader(f))\n"
        "total = sum(float(r['amount']) for r in rows)\n",
    ),
    (
        "python",
        "@app.get('/users/{user_id}')\nasync def read_user(user_id: int):\n"
        "    return await db.fetch_one(users.select().where(users.c.id == user_id))\n",
    ),
    (
        "javascript",
        "const total = items.reduce((sum, item) => sum + item.price * item.qty, 0);\n"
        "console.log(`Total: ${total.toFixed(2)}`);\n",
    ),
    (
        "javascript",
        "fetch('/api/v1/orders?status=open')\n  .then((r) => r.json())\n"
        "  .then((data) => setOrders(data.items));\n",
    ),
    (
        "javascript",
        "export function debounce(fn, ms = 300) {\n  let t;\n  return (...args) => {\n"
        "    clearTimeout(t);\n    t = setTimeout(() => fn(...args), ms);\n  };\n}\n",
    ),
    (
        "typescript",
        "interface Order { id: string; total: number; items: Item[] }\n"
        "const byDate = (a: Order, b: Order) => a.createdAt.localeCompare(b.createdAt);\n",
    ),
    (
        "sql",
        "SELECT c.name, COUNT(o.id) AS orders\nFROM customers c\n"
        "LEFT JOIN orders o ON o.customer_id = c.id\n"
        "WHERE o.created_at >= DATE '2024-01-01'\nGROUP BY c.name\nORDER BY orders DESC\nLIMIT 10;",
    ),
    (
        "sql",
        "SELECT region, SUM(amount) FROM sales GROUP BY region\nUNION ALL\n"
        "SELECT 'total', SUM(amount) FROM sales;",
    ),
    ("sql", "CREATE INDEX CONCURRENTLY idx_orders_customer ON orders (customer_id);"),
    ("sql", "UPDATE inventory SET qty = qty - 1 WHERE sku = 'ABC-123' AND qty > 0;"),
    (
        "go",
        "func handler(w http.ResponseWriter, r *http.Request) {\n"
        '\tfmt.Fprintf(w, "hello, %s", r.URL.Query().Get("name"))\n}\n',
    ),
    (
        "rust",
        "fn main() {\n    let v: Vec<u32> = (1..=10).filter(|x| x % 2 == 0).collect();\n"
        '    println!("{:?}", v);\n}\n',
    ),
    ("bash", "pip install --upgrade wallarm-sidecar\nkubectl get pods -n shop -o wide\n"),
    (
        "yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n  replicas: 3\n",
    ),
    ("css", ".card { display: flex; gap: 1rem; }\n.card > img { max-width: 100%; }\n"),
    (
        "java",
        "List<String> names = users.stream()\n    .map(User::getName)\n    .sorted()\n"
        "    .collect(Collectors.toList());\n",
    ),
]

MARKDOWN_DOCS: Final = [
    "# Release notes\n\n## Added\n- Export to **CSV** and *XLSX*\n- Dark mode (finally!)\n\n"
    "## Fixed\n- Search with apostrophes (`O'Reilly`) now works\n\nSee [the docs](https://docs.example.com/export).",
    "## How to reset your password\n\n1. Open **Settings → Security**\n2. Click *Reset*\n"
    "3. Check your inbox (and the spam folder)\n\n> Tip: use a password manager.",
    "### Query example\n\n```sql\n"
    "SELECT id, email FROM users WHERE active = true ORDER BY id;\n```\n\n"
    "Returns the active users, oldest first.",
    "| Plan | Price | Seats |\n|------|------:|------:|\n| Free | $0 | 1 |\n| Team | $12 | 10 |\n"
    "| Business | $45 | 50 |",
    "Meeting notes (2024-05-02)\n\n* [x] ship v2.3\n* [ ] update the union contract draft\n"
    "* [ ] drop the legacy endpoint after **June 30**",
    '![diagram](https://cdn.example.com/img/arch-v2.png "Architecture")\n\nThe proxy sits in front '
    "of the app; requests go `client -> proxy -> app`.",
]

CMS_HTML: Final = [
    "<p>Welcome to our <b>spring sale</b>! Up to <em>50% off</em> selected items.</p>",
    '<p>Read the <a href="https://blog.example.com/2024/05/release" target="_blank" '
    'rel="noopener">full announcement</a>.</p>',
    "<h2>Ingredients</h2><ul><li>2 cups flour</li><li>1 tsp salt</li><li>1/2 cup sugar</li></ul>",
    '<p><img src="https://cdn.example.com/uploads/2024/05/hero.jpg" alt="Team photo" '
    'width="800" height="450"></p>',
    "<table><thead><tr><th>Size</th><th>Chest (cm)</th></tr></thead><tbody><tr><td>S</td>"
    "<td>86-91</td></tr><tr><td>M</td><td>96-101</td></tr></tbody></table>",
    "<blockquote>Simplicity is prerequisite for reliability.</blockquote><p>&mdash; Edsger W. "
    "Dijkstra</p>",
    '<p>Questions? Email <a href="mailto:support@example.com">support@example.com</a> or call '
    '<a href="tel:+14155550132">+1 415 555 0132</a>.</p>',
    "<ol><li><strong>Select</strong> your size</li><li>Add to cart</li><li>Checkout</li></ol>",
    '<p style="text-align:center"><span style="color:#e03e2d">Free shipping</span> over '
    "&euro;50</p>",
    '<figure><img src="https://images.example.org/p/1234.webp" alt="Blue mug"><figcaption>'
    "Our best-selling mug</figcaption></figure>",
    '<p>Don&#39;t miss our Q&amp;A session on <time datetime="2024-06-12">June 12</time>.</p>',
    '<div class="note"><p>Union members get an extra 10% off &ndash; select '
    "&quot;Member&quot; at checkout.</p></div>",
]


EXTENSIONS: Final = {
    "python": "py", "javascript": "js", "typescript": "ts", "sql": "sql", "go": "go",
    "rust": "rs", "bash": "sh", "yaml": "yaml", "css": "css", "java": "java",
}  # fmt: skip

FILTERS: Final = {
    "status": ["open", "closed", "pending,paid", "in_progress"],
    "priority": ["high", "low,normal"],
    "assignee": ["me", "unassigned"],
}
PLATFORMS: Final = [
    ("Android", "Android"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
    ("", "Windows"),
]

# --- token helpers ---------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt(rng: random.Random, *, sub: str | None = None) -> str:
    header = {
        "alg": rng.choice(["RS256", "ES256", "HS256"]),
        "typ": "JWT",
        "kid": hashlib.sha1(str(rng.random()).encode()).hexdigest()[:16],
    }
    now = 1714550400 + rng.randrange(0, 86400 * 30)
    payload = {
        "iss": "https://auth.example.com/",
        "sub": sub or f"auth0|{rng.getrandbits(64):016x}",
        "aud": ["https://api.example.com", "https://example.eu.auth0.com/userinfo"],
        "iat": now,
        "exp": now + 3600,
        "scope": "openid profile email read:orders",
    }
    signature = rng.randbytes(256 if header["alg"] == "RS256" else 64)
    return ".".join(
        (
            b64url(json.dumps(header, separators=(",", ":")).encode()),
            b64url(json.dumps(payload, separators=(",", ":")).encode()),
            b64url(signature),
        )
    )


def tiny_png(rng: random.Random, size: int = 4) -> bytes:
    """A real (tiny) PNG image with random pixels."""
    raw = b"".join(b"\x00" + rng.randbytes(size * 3) for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hexhash(rng: random.Random, n: int = 64) -> str:
    return rng.randbytes(n // 2).hex()


def person(rng: random.Random) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower()
    local = "".join(c for c in local if c.isascii() and (c.isalnum() or c in ".-")) or "user"
    domain = rng.choice(["example.com", "mail.example.org", "example.co.uk", "example.de"])
    return first, last, f"{local}{rng.randrange(1, 99)}@{domain}"


def iso_time(rng: random.Random) -> str:
    day = rng.randrange(1, 29)
    month = rng.randrange(1, 13)
    return f"2024-{month:02d}-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"


# --- header sets -----------------------------------------------------------------------


def ga_cookie(rng: random.Random) -> str:
    ts = 1700000000 + rng.randrange(10_000_000)
    parts = [
        f"_ga=GA1.1.{rng.randrange(10**9, 10**10)}.{ts}",
        f"_ga_{b64url(rng.randbytes(7)).upper()[:10]}=GS1.1.{ts}.3.1.{ts + 600}.0.0.0",
        f"_gid=GA1.2.{rng.randrange(10**8, 10**9)}.{ts}",
        f"_fbp=fb.1.{ts}123.{rng.randrange(10**9, 10**10)}",
        f"sessionid={hexhash(rng, 32)}",
        f"csrftoken={b64url(rng.randbytes(24))}",
    ]
    extra = [
        "cookie_consent=accepted",
        "CookieConsent={stamp:%27" + b64url(rng.randbytes(30)) + "%3D%3D%27%2Cnecessary:true"
        "%2Cpreferences:true%2Cstatistics:true%2Cmarketing:false%2Cmethod:%27explicit%27"
        f"%2Cver:1%2Cutc:{ts}123%2Cregion:%27de%27}}",
        "theme=dark",
        "lang=en-US",
        f"cart_id={uid(rng)}",
        "OptanonConsent=isGpcEnabled=0&datestamp=Wed+May+01+2024+10%3A15%3A00+GMT%2B0200"
        "&version=202403.1.0&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A0",
        f"_hjSessionUser_{rng.randrange(10**6, 10**7)}="
        + b64url(json.dumps({"id": uid(rng), "created": ts * 1000, "existing": True}).encode()),
        "recently_viewed=1234%2C5678%2C91011",
    ]
    rng.shuffle(parts)
    chosen = parts[: rng.randrange(2, len(parts) + 1)] + rng.sample(extra, rng.randrange(0, 3))
    return "; ".join(chosen)


def browser_headers(
    rng: random.Random,
    *,
    accept: str = HTML_ACCEPT,
    referer: str | None = None,
    cookies: bool = True,
    fetch: str = "navigate",
) -> Headers:
    ua = rng.choice(BROWSERS)
    headers = [
        ["User-Agent", ua],
        ["Accept", accept],
        ["Accept-Language", rng.choice(LANGUAGES)],
        ["Accept-Encoding", "gzip, deflate, br, zstd" if "Chrome" in ua else "gzip, deflate, br"],
    ]
    if "Chrome" in ua:
        headers.append(
            ["sec-ch-ua", '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"']
        )
        headers.append(["sec-ch-ua-mobile", "?1" if "Mobile" in ua else "?0"])
        platform = next(name for marker, name in PLATFORMS if marker in ua)
        headers.append(["sec-ch-ua-platform", f'"{platform}"'])
    if referer:
        headers.append(["Referer", referer])
    if fetch == "navigate":
        headers += [
            ["Sec-Fetch-Dest", "document"],
            ["Sec-Fetch-Mode", "navigate"],
            ["Sec-Fetch-Site", "same-origin" if referer else "none"],
            ["Sec-Fetch-User", "?1"],
            ["Upgrade-Insecure-Requests", "1"],
        ]
    else:
        headers += [
            ["Sec-Fetch-Dest", "empty"],
            ["Sec-Fetch-Mode", "cors"],
            ["Sec-Fetch-Site", "same-origin"],
            ["Origin", SITE],
        ]
    if cookies and rng.random() < 0.8:
        headers.append(["Cookie", ga_cookie(rng)])
    return headers


def api_headers(rng: random.Random, *, auth: bool = True) -> Headers:
    headers = [["User-Agent", rng.choice(API_CLIENTS)], ["Accept", "application/json"]]
    if auth:
        if rng.random() < 0.75:
            headers.append(["Authorization", f"Bearer {jwt(rng)}"])
        else:
            headers.append(["X-API-Key", f"sk_live_{b64url(rng.randbytes(24))}"])
    if rng.random() < 0.5:
        headers.append(["X-Request-Id", uid(rng)])
    if rng.random() < 0.3:
        headers.append(["Accept-Encoding", "gzip"])
    if rng.random() < 0.2:
        headers.append(["Idempotency-Key", uid(rng)])
    return headers


def q(params: Sequence[tuple[str, str]] | dict[str, str], *, safe: str = "") -> str:
    return urlencode(params, quote_via=quote, safe=safe)


def rec(  # noqa: PLR0917 - a table row: positional reads best
    method: str,
    target: str,
    headers: Headers,
    body: str = "",
    content_type: str | None = None,
    note: str = "",
) -> Record:
    return {
        "method": method,
        "target": target,
        "headers": headers,
        "body": body,
        "content_type": content_type,
        "note": note,
    }


def dumps(value: Any, rng: random.Random) -> str:
    """JSON the way different clients write it: compact or spaced, escaped or raw UTF-8."""
    if rng.random() < 0.5:
        return json.dumps(value, ensure_ascii=rng.random() < 0.3, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=rng.random() < 0.3, indent=rng.choice([None, 2]))


# --- generators, one per traffic family ------------------------------------------------


def gen_browser(rng: random.Random) -> list[Record]:
    out: list[Record] = []
    pages = [
        "/",
        "/products",
        "/category/shoes",
        "/blog",
        "/about-us",
        "/help/returns",
        "/account/orders",
        "/cart",
        "/checkout/shipping",
        "/wishlist",
        "/stores/dublin",
        "/blog/2024/05/why-we-moved-to-postgres",
        "/c/kids'-clothing".replace("'", "%27"),
    ]
    for _ in range(60):
        page = rng.choice(pages)
        out.append(
            rec(
                "GET",
                page,
                browser_headers(rng, referer=rng.choice([None, SITE + "/"])),
                note="page view",
            )
        )
    for term in SEARCHES:
        params = [("q", term)]
        if rng.random() < 0.5:
            params.append(("page", str(rng.randrange(1, 6))))
        if rng.random() < 0.4:
            params.append(("sort", rng.choice(["relevance", "price_asc", "-rating", "newest"])))
        plus = urlencode(params)  # browsers send form GETs with '+' for spaces
        out.append(
            rec(
                "GET",
                f"/search?{plus}",
                browser_headers(rng, referer=SITE + "/"),
                note="site search from the search box",
            )
        )
        out.append(
            rec(
                "GET",
                f"/api/search/suggest?{q([('q', term[: rng.randrange(3, 12)])])}",
                browser_headers(rng, accept="application/json", fetch="cors", referer=SITE + "/"),
                note="search-as-you-type suggestion (XHR)",
            )
        )
    utm_sources = ["google", "newsletter", "facebook", "twitter", "partner-blog"]
    for _ in range(40):
        params = [
            ("utm_source", rng.choice(utm_sources)),
            ("utm_medium", rng.choice(["cpc", "email", "social"])),
            (
                "utm_campaign",
                rng.choice(["spring_sale_2024", "black-friday", "q2 launch", "réouverture"]),
            ),
            ("gclid", b64url(rng.randbytes(40))),
        ]
        if rng.random() < 0.5:
            params.append(("utm_content", rng.choice(["hero banner", "cta_button", "footer-link"])))
        out.append(
            rec(
                "GET",
                f"/landing/spring?{q(params)}",
                browser_headers(rng),
                note="campaign landing page with UTM and click id",
            )
        )
    for _ in range(40):
        nxt = rng.choice(
            [
                "/account/orders",
                "/checkout/payment?step=2",
                "/wishlist?tab=shared",
                "https://shop.example.com/cart",
            ]
        )
        params = [("next", nxt)] if rng.random() < 0.5 else [("return_to", nxt), ("ref", "header")]
        out.append(
            rec(
                "GET",
                f"/login?{q(params)}",
                browser_headers(rng, referer=SITE + "/cart"),
                note="login page with a return URL",
            )
        )
    assets = [
        "/static/js/main.3f9a1c2b.js",
        "/static/css/app.8c1d0e.css",
        "/favicon.ico",
        "/fonts/Inter-Regular.woff2",
        "/images/products/1234/front@2x.webp",
        "/downloads/report-2024.pdf",
        "/downloads/Price%20List%20(EU).xlsx",
        "/robots.txt",
        "/sitemap.xml",
        "/manifest.webmanifest",
        "/apple-touch-icon.png",
        "/static/js/vendors~main.chunk.js",
        "/media/catalog/product/cache/1/image/9df78eab33525d08d6e5fb8d27136e95/b/l/blue-mug.jpg",
    ]
    for _ in range(80):
        asset = rng.choice(assets)
        accept = (
            "image/avif,image/webp,*/*"
            if asset.endswith((".png", ".webp", ".jpg", ".ico"))
            else "*/*"
        )
        headers = browser_headers(rng, accept=accept, referer=SITE + "/", fetch="cors")
        if rng.random() < 0.4:
            headers.append(["If-None-Match", f'W/"{hexhash(rng, 16)}"'])
        if rng.random() < 0.2:
            headers.append(["If-Modified-Since", "Wed, 01 May 2024 10:15:00 GMT"])
        if asset.endswith(".pdf") and rng.random() < 0.5:
            headers.append(["Range", "bytes=0-65535"])
        out.append(rec("GET", asset, headers, note="static asset"))
    for _ in range(30):
        lat, lon = rng.uniform(-60, 70), rng.uniform(-170, 170)
        params = [
            ("lat", f"{lat:.5f}"),
            ("lng", f"{lon:.5f}"),
            ("radius", "25km"),
            ("open_now", "true"),
        ]
        out.append(
            rec(
                "GET",
                f"/stores/near?{q(params)}",
                browser_headers(
                    rng, accept="application/json", fetch="cors", referer=SITE + "/stores"
                ),
                note="store locator",
            )
        )
    for _ in range(30):
        event = {
            "t": "pageview",
            "dl": SITE + rng.choice(pages),
            "dt": rng.choice(TITLES),
            "ul": "en-us",
            "sr": rng.choice(["1920x1080", "390x844", "2560x1440"]),
            "cid": f"{rng.randrange(10**9)}.{1700000000 + rng.randrange(10**7)}",
        }
        out.append(
            rec(
                "GET",
                f"/collect?v=2&{q(event)}",
                browser_headers(rng, accept="*/*", fetch="cors", referer=SITE + "/"),
                note="analytics beacon (GA-style)",
            )
        )
    return out


def gen_api(rng: random.Random) -> list[Record]:
    out: list[Record] = []
    resources = ["orders", "customers", "products", "invoices", "tickets", "projects", "users"]
    for _ in range(200):
        res = rng.choice(resources)
        params: list[tuple[str, str]] = []
        if rng.random() < 0.6:
            params.append(
                (
                    "sort",
                    rng.choice(["-created_at", "created_at", "name", "-total,name", "-updated_at"]),
                )
            )
        if rng.random() < 0.5:
            key, values = rng.choice(list(FILTERS.items()))
            params.append((f"filter[{key}]", rng.choice(values)))
        if rng.random() < 0.4:
            params.append(
                (
                    "fields",
                    rng.choice(["id,name", "id,email,created_at", "id,total,currency,items"]),
                )
            )
        if rng.random() < 0.4:
            params.append(("include", rng.choice(["author,comments", "customer", "lines.product"])))
        if rng.random() < 0.5:
            params += [
                ("page[number]", str(rng.randrange(1, 40))),
                ("page[size]", rng.choice(["25", "50", "100"])),
            ]
        elif rng.random() < 0.5:
            params += [
                ("limit", "50"),
                ("cursor", b64url(json.dumps({"id": rng.randrange(10**6)}).encode())),
            ]
        if rng.random() < 0.3:
            params.append(("created_at[gte]", iso_time(rng)))
        if rng.random() < 0.2:
            params.append(("q", rng.choice(SEARCHES)))
        if rng.random() < 0.15:
            params.append(("ids", ",".join(uid(rng) for _ in range(rng.randrange(2, 5)))))
        if rng.random() < 0.1:
            params.append(
                (
                    "callback_url",
                    "https://hooks.example.com/services/T000/B000/" + b64url(rng.randbytes(12)),
                )
            )
        target = f"/api/v1/{res}" + (f"?{q(params, safe=',[]')}" if params else "")
        out.append(
            rec("GET", target, api_headers(rng), note=f"list {res} with filters/sort/paging")
        )
    for _ in range(80):
        res = rng.choice(resources)
        out.append(
            rec(
                rng.choice(["GET", "GET", "DELETE", "HEAD"]),
                f"/api/v1/{res}/{uid(rng)}",
                api_headers(rng),
                note=f"fetch or delete one {res[:-1]}",
            )
        )
    for _ in range(30):
        sha = hexhash(rng, 40)
        out.append(
            rec(
                "GET",
                f"/api/v3/repos/acme/shop/commits/{sha}/status",
                api_headers(rng),
                note="CI status by commit hash",
            )
        )
    return out


def _profile(rng: random.Random) -> dict[str, Any]:
    first, last, email = person(rng)
    city, country, postcode = rng.choice(CITIES)
    return {
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": rng.choice(PHONES),
        "address": {
            "line1": rng.choice(STREETS),
            "city": city,
            "postal_code": postcode,
            "country": country,
        },
        "birthday": f"19{rng.randrange(50, 99)}-{rng.randrange(1, 13):02d}"
        f"-{rng.randrange(1, 28):02d}",
        "preferences": {
            "newsletter": rng.random() < 0.5,
            "language": rng.choice(["en", "de", "ja", "he"]),
        },
    }


def gen_json(rng: random.Random) -> list[Record]:
    out: list[Record] = []
    for _ in range(70):
        body = _profile(rng)
        method = rng.choice(["PUT", "PATCH", "POST"])
        out.append(
            rec(
                method,
                f"/api/v1/customers/{uid(rng)}" if method != "POST" else "/api/v1/customers",
                api_headers(rng),
                dumps(body, rng),
                "application/json",
                "customer profile with international names, addresses and phones",
            )
        )
    for _ in range(90):
        text = " ".join(rng.sample(PROSE, rng.randrange(1, 4)))
        body = {
            "rating": rng.randrange(1, 6),
            "title": rng.choice(TITLES),
            "body": text,
            "product_id": uid(rng),
            "would_recommend": rng.random() < 0.8,
        }
        out.append(
            rec(
                "POST",
                f"/api/v1/products/{rng.randrange(1000, 9999)}/reviews",
                browser_headers(rng, accept="application/json", fetch="cors"),
                dumps(body, rng),
                "application/json",
                "product review with free text",
            )
        )
    for _ in range(60):
        body = {
            "subject": rng.choice(
                [
                    "Order issue",
                    "Refund",
                    "Can't log in",
                    "Billing question",
                    "Wrong size delivered",
                    "Feature request: dark mode",
                ]
            ),
            "message": "\n\n".join(rng.sample(PROSE, rng.randrange(2, 5))),
            "priority": rng.choice(["low", "normal", "high"]),
            "attachments": [{"name": rng.choice(FILE_NAMES), "size": rng.randrange(10**3, 10**7)}],
        }
        out.append(
            rec(
                "POST",
                "/api/v1/tickets",
                api_headers(rng),
                dumps(body, rng),
                "application/json",
                "support ticket",
            )
        )
    for _ in range(90):
        lang, code = rng.choice(CODE_SNIPPETS)
        body = {
            "title": rng.choice(["snippet", "helper", "example", "fix for #1423", "query"]),
            "language": lang,
            "visibility": rng.choice(["public", "private"]),
            "files": [
                {
                    "name": f"main.{EXTENSIONS[lang]}",
                    "content": code,
                }
            ],
            "tags": rng.sample(TAGS, 2),
        }
        out.append(
            rec(
                "POST",
                "/api/v1/snippets",
                api_headers(rng),
                dumps(body, rng),
                "application/json",
                "code-sharing service: source code in a content field",
            )
        )
    for _ in range(50):
        body = {
            "title": rng.choice(TITLES),
            "slug": f"post-{rng.randrange(10**4)}",
            "body_markdown": rng.choice(MARKDOWN_DOCS),
            "tags": rng.sample(TAGS, 3),
            "published_at": iso_time(rng),
            "draft": rng.random() < 0.3,
        }
        out.append(
            rec(
                rng.choice(["POST", "PUT"]),
                "/api/v1/posts",
                api_headers(rng),
                dumps(body, rng),
                "application/json",
                "blog post in Markdown",
            )
        )
    for _ in range(70):
        html = "".join(rng.sample(CMS_HTML, rng.randrange(1, 4)))
        body = {
            "id": rng.randrange(1, 5000),
            "type": "page",
            "title": {"rendered": rng.choice(TITLES)},
            "content": {"raw": html},
            "excerpt": rng.choice(PROSE),
            "status": "publish",
        }
        out.append(
            rec(
                "POST",
                f"/wp-json/wp/v2/pages/{body['id']}",
                [
                    *browser_headers(rng, accept="application/json, */*;q=0.1", fetch="cors"),
                    ["X-WP-Nonce", hexhash(rng, 10)],
                ],
                dumps(body, rng),
                "application/json",
                "CMS editor saving HTML content",
            )
        )
    for _ in range(30):
        png = tiny_png(rng, rng.choice([2, 4, 8]))
        body = {
            "avatar": "data:image/png;base64," + base64.b64encode(png).decode(),
            "display_name": " ".join(person(rng)[:2]),
        }
        out.append(
            rec(
                "PATCH",
                "/api/v1/me",
                api_headers(rng),
                dumps(body, rng),
                "application/json",
                "avatar upload as a base64 data URL",
            )
        )
    for _ in range(30):
        coords = [[round(rng.uniform(-10, 30), 6), round(rng.uniform(35, 60), 6)] for _ in range(5)]
        coords.append(coords[0])
        body = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "name": rng.choice(["Delivery zone A", "Zone Süd", "Área 3"]),
                        "fee": rng.choice([0, 2.5, 4.99]),
                    },
                    "geometry": {"type": "Polygon", "coordinates": [coords]},
                },
                {
                    "type": "Feature",
                    "properties": {"name": "Depot"},
                    "geometry": {"type": "Point", "coordinates": coords[0]},
                },
            ],
        }
        out.append(
            rec(
                "PUT",
                f"/api/v1/zones/{rng.randrange(100)}",
                api_headers(rng),
                dumps(body, rng),
                "application/geo+json",
                "GeoJSON delivery zones",
            )
        )
    for _ in range(40):
        body = {
            "items": [
                {
                    "sku": f"SKU-{rng.randrange(10**5):05d}",
                    "qty": rng.randrange(1, 4),
                    "price": {"amount": rng.randrange(199, 19999), "currency": "EUR"},
                }
                for _ in range(rng.randrange(1, 4))
            ],
            "coupon": rng.choice([None, "SPRING24", "WELCOME-10"]),
            "shipping": _profile(rng)["address"],
            "note": rng.choice(PROSE),
        }
        out.append(
            rec(
                "POST",
                "/api/v1/checkout/orders",
                api_headers(rng),
                dumps(body, rng),
                "application/json",
                "checkout order",
            )
        )
    for _ in range(30):
        events = [
            {
                "event": rng.choice(["page_view", "add_to_cart", "select_item", "search"]),
                "ts": iso_time(rng),
                "props": {"path": "/products", "q": rng.choice(SEARCHES)},
            }
            for _ in range(rng.randrange(1, 5))
        ]
        out.append(
            rec(
                "POST",
                "/v1/batch",
                [["User-Agent", rng.choice(BROWSERS)], ["Content-Encoding", "identity"]],
                dumps({"batch": events}, rng),
                "text/plain;charset=UTF-8",
                "analytics batch via sendBeacon",
            )
        )
    return out


def gen_webhooks(rng: random.Random) -> list[Record]:
    out: list[Record] = []
    for _ in range(25):
        body = {
            "id": f"evt_{b64url(rng.randbytes(18))}",
            "object": "event",
            "type": rng.choice(["payment_intent.succeeded", "charge.refunded", "customer.updated"]),
            "created": 1714550400 + rng.randrange(10**6),
            "data": {
                "object": {
                    "id": f"pi_{b64url(rng.randbytes(18))}",
                    "amount": rng.randrange(100, 10**5),
                    "currency": "usd",
                    "description": rng.choice(PROSE),
                    "metadata": {"order_id": str(rng.randrange(10**5))},
                }
            },
        }
        sig = f"t={body['created']},v1={hexhash(rng)}"
        out.append(
            rec(
                "POST",
                "/webhooks/stripe",
                [
                    ["User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"],
                    ["Accept", "*/*; q=0.5, application/xml"],
                    ["Stripe-Signature", sig],
                ],
                dumps(body, rng),
                "application/json; charset=utf-8",
                "payment provider webhook",
            )
        )
    for _ in range(25):
        msg = rng.choice(
            [
                "Fix search for names with apostrophes (O'Brien)",
                "Drop support for Python 3.8",
                "Select the right index for order lookups",
                "Merge pull request #1423 from acme/union-types",
                "Update README.md",
                "Add 'rock n roll' genre",
                "Refactor: delete dead code",
            ]
        )
        body = {
            "ref": "refs/heads/main",
            "before": hexhash(rng, 40),
            "after": hexhash(rng, 40),
            "repository": {"full_name": "acme/shop", "html_url": "https://github.com/acme/shop"},
            "head_commit": {
                "id": hexhash(rng, 40),
                "message": msg,
                "author": {"name": " ".join(person(rng)[:2]), "email": person(rng)[2]},
                "modified": ["src/search.py", "README.md"],
            },
        }
        out.append(
            rec(
                "POST",
                "/hooks/github",
                [
                    ["User-Agent", "GitHub-Hookshot/8d2c1a5"],
                    ["Accept", "*/*"],
                    ["X-GitHub-Event", "push"],
                    ["X-GitHub-Delivery", uid(rng)],
                    ["X-Hub-Signature-256", f"sha256={hexhash(rng)}"],
                ],
                dumps(body, rng),
                "application/json",
                "Git hosting push webhook",
            )
        )
    return out


def gen_forms(rng: random.Random) -> list[Record]:
    out: list[Record] = []
    passwords = [
        "correct horse battery staple",
        "P@ssw0rd!2024",
        "Tr0ub4dor&3",
        "s3cr3t'pass",
        "hunter2#",
        "ÄpfelUndBirnen99",
        'my "quoted" pass',
        "1qaz@WSX3edc",
        "zaq1-xsw2;cde3",
    ]
    for _ in range(60):
        _, _, email = person(rng)
        fields = [
            ("email", email),
            ("password", rng.choice(passwords)),
            ("remember_me", "on"),
            ("csrfmiddlewaretoken", b64url(rng.randbytes(48))),
        ]
        if rng.random() < 0.4:
            fields.append(("next", "/account/orders?tab=recent"))
        out.append(
            rec(
                "POST",
                "/login",
                browser_headers(rng, referer=SITE + "/login"),
                urlencode(fields),
                "application/x-www-form-urlencoded",
                "login form",
            )
        )
    for term in SEARCHES:
        fields = [("q", term), ("category", rng.choice(["all", "books", "home & garden"]))]
        out.append(
            rec(
                "POST",
                "/search",
                browser_headers(rng, referer=SITE + "/"),
                urlencode(fields),
                "application/x-www-form-urlencoded",
                "search form posted",
            )
        )
    for _ in range(60):
        prof = _profile(rng)
        addr = prof["address"]
        fields = [
            ("first_name", prof["first_name"]),
            ("last_name", prof["last_name"]),
            ("email", prof["email"]),
            ("phone", prof["phone"]),
            ("address1", addr["line1"]),
            ("address2", rng.choice(["", "Apt 4B", "c/o Front desk", "Floor 3, #301"])),
            ("city", addr["city"]),
            ("zip", addr["postal_code"]),
            ("country", addr["country"]),
            (
                "delivery_notes",
                rng.choice(
                    [
                        "",
                        "Leave at the door, don't ring",
                        "Call 10 min before",
                        "Gate code: #4821",
                        "Back door -- beware of dog!",
                    ]
                ),
            ),
            ("shipping_method", rng.choice(["standard", "express", "pickup"])),
            ("authenticity_token", base64.b64encode(rng.randbytes(32)).decode()),
        ]
        out.append(
            rec(
                "POST",
                "/checkout/shipping",
                browser_headers(rng, referer=SITE + "/checkout/shipping"),
                urlencode(fields),
                "application/x-www-form-urlencoded",
                "checkout address form",
            )
        )
    for _ in range(50):
        first, last, email = person(rng)
        fields = [
            ("name", f"{first} {last}"),
            ("email", email),
            ("topic", rng.choice(["Sales", "Support", "Press", "Partnerships"])),
            ("message", "\r\n".join(rng.sample(PROSE, rng.randrange(1, 4)))),
            ("consent", "yes"),
        ]
        out.append(
            rec(
                "POST",
                "/contact",
                browser_headers(rng, referer=SITE + "/contact"),
                urlencode(fields),
                "application/x-www-form-urlencoded",
                "contact form with a free-text message",
            )
        )
    for _ in range(40):
        _, _, email = person(rng)
        fields = [
            ("EMAIL", email),
            ("FNAME", rng.choice(FIRST_NAMES)),
            ("list", "weekly"),
            ("b_" + hexhash(rng, 24), ""),
        ]
        out.append(
            rec(
                "POST",
                "/newsletter/subscribe",
                browser_headers(rng, referer=SITE + "/blog"),
                urlencode(fields),
                "application/x-www-form-urlencoded",
                "newsletter signup",
            )
        )
    for _ in range(30):
        fields = [
            ("comment[body]", rng.choice(PROSE)),
            ("comment[author]", " ".join(person(rng)[:2])),
            ("comment[post_id]", str(rng.randrange(10**4))),
            ("utf8", "✓"),
        ]
        out.append(
            rec(
                "POST",
                "/comments",
                browser_headers(rng, referer=SITE + "/blog"),
                urlencode(fields),
                "application/x-www-form-urlencoded; charset=UTF-8",
                "blog comment (Rails-style names)",
            )
        )
    return out


def multipart(
    rng: random.Random, parts: list[tuple[str, str | None, str | None, str]]
) -> tuple[str, str]:
    boundary = "----WebKitFormBoundary" + b64url(rng.randbytes(12))[:16]
    chunks = []
    for name, filename, ctype, content in parts:
        disp = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        head = f"Content-Disposition: {disp}\r\n" + (f"Content-Type: {ctype}\r\n" if ctype else "")
        chunks.append(f"--{boundary}\r\n{head}\r\n{content}\r\n")
    return "".join(chunks) + f"--{boundary}--\r\n", f"multipart/form-data; boundary={boundary}"


def gen_uploads(rng: random.Random) -> list[Record]:
    out: list[Record] = []
    csv_rows = [
        "id,name,email,amount,date",
        "1,O'Brien Sean,sean@example.com,19.99,2024-05-01",
        '2,"Müller, Anna",anna@example.de,5.00,2024-05-02',
        "3,李 雷,li@example.cn,120.50,2024-05-03",
        "4,Select Comfort Inc,ap@example.com,1200.00,2024-05-04",
    ]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">'
        '<circle cx="12" cy="12" r="10" fill="#4f46e5"/><path d="M8 12l3 3 5-6" stroke="#fff" '
        'stroke-width="2" fill="none"/></svg>'
    )
    files = [
        ("export.csv", "text/csv", "\r\n".join(csv_rows) + "\r\n"),
        (
            "notes.txt",
            "text/plain",
            "Shopping list:\n- milk\n- eggs (free-range)\n- O'Reilly book\n",
        ),
        ("meeting-notes.md", "text/markdown", MARKDOWN_DOCS[4]),
        ("config.json", "application/json", json.dumps({"theme": "dark", "items_per_page": 50})),
        ("icon.svg", "image/svg+xml", svg),
        ("query.sql", "application/sql", CODE_SNIPPETS[8][1]),
        ("main.py", "text/x-python", CODE_SNIPPETS[1][1]),
        (
            "contacts.vcf",
            "text/vcard",
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Siobhán O'Brien\r\n"
            "TEL;TYPE=cell:+353 1 555 0199\r\nEND:VCARD",
        ),
        (
            "event.ics",
            "text/calendar",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Union meeting\r\n"
            "DTSTART:20240612T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR",
        ),
    ]
    for _ in range(120):
        fname, ctype, content = rng.choice(files)
        if rng.random() < 0.3:
            fname = (
                rng.choice(["report-2024.csv", "Q3 Budget (final).csv", "data (1).csv"])
                if ctype == "text/csv"
                else fname
            )
        parts: list[tuple[str, str | None, str | None, str]] = [
            ("title", None, None, rng.choice(TITLES)),
            ("description", None, None, rng.choice(PROSE)),
            ("file", fname, ctype, content),
        ]
        if rng.random() < 0.4:
            parts.insert(0, ("authenticity_token", None, None, b64url(rng.randbytes(32))))
        body, content_type = multipart(rng, parts)
        out.append(
            rec(
                "POST",
                rng.choice(["/upload", "/api/v1/files", "/account/documents"]),
                browser_headers(
                    rng,
                    referer=SITE + "/account/documents",
                    accept="application/json",
                    fetch="cors",
                ),
                body,
                content_type,
                f"multipart upload of a small {ctype} file",
            )
        )
    return out


GRAPHQL_QUERIES: Final[list[tuple[str, Callable[[random.Random], dict[str, Any]]]]] = [
    (
        "query GetOrders($first: Int!, $after: String, $status: OrderStatus) {\n"
        "  orders(first: $first, after: $after, status: $status) {\n"
        "    edges { node { id total { amount currency } customer "
        "{ name email } } }\n    pageInfo { hasNextPage endCursor }\n  }\n}",
        lambda rng: {"first": 20, "after": b64url(rng.randbytes(9)), "status": "OPEN"},
    ),
    (
        "mutation UpdateProfile($input: UpdateProfileInput!) {\n  updateProfile(input: $input) {\n"
        "    user { id displayName bio }\n    errors { field message }\n  }\n}",
        lambda rng: {"input": {"displayName": " ".join(person(rng)[:2]), "bio": rng.choice(PROSE)}},
    ),
    (
        "query Search($q: String!) { search(query: $q, first: 10) "
        "{ ... on Product { id name price } "
        "... on Article { id title } } }",
        lambda rng: {"q": rng.choice(SEARCHES)},
    ),
    (
        "query { viewer { login repositories(first: 5, "
        "orderBy: {field: UPDATED_AT, direction: DESC}) "
        "{ nodes { name description } } } }",
        lambda rng: {},
    ),
    (
        "mutation AddComment($postId: ID!, $body: String!) "
        "{ addComment(postId: $postId, body: $body) "
        "{ comment { id createdAt } } }",
        lambda rng: {"postId": uid(rng), "body": rng.choice(PROSE)},
    ),
    (
        "fragment ProductCard on Product { id name slug images(first: 1) { url altText } }\n"
        "query Category($slug: String!) { category(slug: $slug) { name products(first: 24) "
        "{ ...ProductCard } } }",
        lambda rng: {"slug": rng.choice(["shoes", "kids-clothing", "home-garden"])},
    ),
]


def gen_graphql(rng: random.Random) -> list[Record]:
    out: list[Record] = []
    for _ in range(90):
        query, variables = rng.choice(GRAPHQL_QUERIES)
        name = (
            query.split("(")[0].split("{")[0].split()[-1]
            if query.startswith(("query ", "mutation "))
            else None
        )
        body = {"operationName": name, "query": query, "variables": variables(rng)}
        out.append(
            rec(
                "POST",
                "/graphql",
                api_headers(rng),
                dumps(body, rng),
                "application/json",
                "GraphQL operation",
            )
        )
    for _ in range(20):
        query, variables = GRAPHQL_QUERIES[rng.choice([0, 2, 5])]
        params = [("query", query), ("variables", json.dumps(variables(rng)))]
        out.append(
            rec("GET", f"/graphql?{q(params)}", api_headers(rng), note="GraphQL query over GET")
        )
    for _ in range(10):
        ext = {"persistedQuery": {"version": 1, "sha256Hash": hexhash(rng)}}
        params = [
            ("operationName", "Category"),
            ("variables", json.dumps({"slug": "shoes"})),
            ("extensions", json.dumps(ext)),
        ]
        out.append(
            rec("GET", f"/graphql?{q(params)}", api_headers(rng), note="Apollo persisted query")
        )
    return out


def gen_auth(rng: random.Random) -> list[Record]:
    out: list[Record] = []
    clients = ["web-app", "0oa1b2c3d4E5F6g7H8i9", "shop-ios", "8f14e45fceea167a5a36dedd4bea2543"]
    redirect_uris = [
        "https://shop.example.com/oauth/callback",
        "https://app.example.com/auth/callback?lang=de",
        "com.example.shop:/oauth2redirect",
        "http://localhost:3000/api/auth/callback/github",
    ]
    for _ in range(30):
        params = [
            ("response_type", "code"),
            ("client_id", rng.choice(clients)),
            ("redirect_uri", rng.choice(redirect_uris)),
            ("scope", "openid profile email offline_access"),
            ("state", b64url(rng.randbytes(24))),
            ("nonce", b64url(rng.randbytes(16))),
            ("code_challenge", b64url(hashlib.sha256(rng.randbytes(32)).digest())),
            ("code_challenge_method", "S256"),
        ]
        out.append(
            rec(
                "GET",
                f"/oauth/authorize?{q(params)}",
                browser_headers(rng, referer=SITE + "/login"),
                note="OAuth authorization request (PKCE)",
            )
        )
    for _ in range(30):
        params = [("code", b64url(rng.randbytes(32))), ("state", b64url(rng.randbytes(24)))]
        if rng.random() < 0.3:
            params.append(("session_state", f"{uid(rng)}.{b64url(rng.randbytes(8))}"))
        if rng.random() < 0.2:
            params.append(("iss", "https://accounts.example.com"))
        out.append(
            rec(
                "GET",
                f"/oauth/callback?{q(params)}",
                browser_headers(rng, referer="https://accounts.example.com/"),
                note="OAuth callback with code and state",
            )
        )
    for _ in range(30):
        fields = [
            ("grant_type", "authorization_code"),
            ("code", b64url(rng.randbytes(32))),
            ("redirect_uri", rng.choice(redirect_uris)),
            ("client_id", rng.choice(clients)),
            ("code_verifier", b64url(rng.randbytes(48))),
        ]
        if rng.random() < 0.4:
            fields = [
                ("grant_type", "refresh_token"),
                ("refresh_token", b64url(rng.randbytes(40))),
                ("client_id", rng.choice(clients)),
            ]
        headers = [["User-Agent", rng.choice(API_CLIENTS)], ["Accept", "application/json"]]
        if rng.random() < 0.5:
            secret = base64.b64encode(
                f"{rng.choice(clients)}:{b64url(rng.randbytes(24))}".encode()
            ).decode()
            headers.append(["Authorization", f"Basic {secret}"])
        out.append(
            rec(
                "POST",
                "/oauth/token",
                headers,
                urlencode(fields),
                "application/x-www-form-urlencoded",
                "OAuth token request",
            )
        )
    for _ in range(15):
        token = jwt(rng)
        fields = [("id_token", token), ("state", b64url(rng.randbytes(24)))]
        out.append(
            rec(
                "POST",
                "/auth/oidc/callback",
                browser_headers(rng, referer="https://login.example.com/"),
                urlencode(fields),
                "application/x-www-form-urlencoded",
                "OIDC form_post callback",
            )
        )
    for _ in range(15):
        saml = base64.b64encode(
            (
                '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
                f'ID="_{hexhash(rng, 32)}" Version="2.0" IssueInstant="{iso_time(rng)}">'
                '<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
                "https://idp.example.com/</saml:Issuer></samlp:Response>"
            ).encode()
        ).decode()
        fields = [("SAMLResponse", saml), ("RelayState", "/dashboard")]
        out.append(
            rec(
                "POST",
                "/saml/acs",
                browser_headers(rng, referer="https://idp.example.com/"),
                urlencode(fields),
                "application/x-www-form-urlencoded",
                "SAML POST binding",
            )
        )
    return out


# --- hand-written look-alikes ----------------------------------------------------------

_B = BROWSERS[0]
_JSON_H: Final = [["User-Agent", "python-requests/2.31.0"], ["Accept", "application/json"]]
_WEB_H: Final = [["User-Agent", _B], ["Accept", HTML_ACCEPT], ["Accept-Language", "en-US,en;q=0.9"]]

#: Written by hand: each one is a real request that contains what a naive rule matches.
LOOKALIKES: Final[list[Record]] = [
    rec("GET", "/search?q=O%27Reilly+Media", _WEB_H, note="publisher name with an apostrophe"),
    rec("GET", "/search?q=%22rock+%27n%27+roll%22", _WEB_H, note="quoted phrase with apostrophes"),
    rec(
        "GET",
        "/search?q=select+comfort+sleep+number",
        _WEB_H,
        note="brand name starting with 'select'",
    ),
    rec("GET", "/search?q=union+pacific+railroad+history", _WEB_H, note="'union' in a search"),
    rec("GET", "/search?q=how+to+drop+a+table+in+postgres", _WEB_H, note="SQL how-to question"),
    rec("GET", "/search?q=1+or+2+bedroom+apartment", _WEB_H, note="'1 or 2' in prose"),
    rec("GET", "/search?q=you+and+me+or+nobody", _WEB_H, note="'and'/'or' in a song title"),
    rec("GET", "/search?q=Tom%27s+Diner", _WEB_H, note="song title with an apostrophe"),
    rec("GET", "/search?q=don%27t+stop+me+now", _WEB_H, note="song title"),
    rec("GET", "/search?q=c%23+vs+java", _WEB_H, note="C# (hash in a term)"),
    rec("GET", "/search?q=%3C3+emoticon+meaning", _WEB_H, note="'<3' in a search"),
    rec(
        "GET", "/search?q=a%3Eb+comparison+operators", _WEB_H, note="operators in a learning query"
    ),
    rec("GET", "/search?q=script+doctor+jobs", _WEB_H, note="the word 'script'"),
    rec("GET", "/search?q=alert+sound+iphone", _WEB_H, note="the word 'alert'"),
    rec("GET", "/search?q=sleep+apnea+treatment", _WEB_H, note="the word 'sleep'"),
    rec("GET", "/search?q=benchmark+results+2024", _WEB_H, note="the word 'benchmark'"),
    rec("GET", "/search?q=delay+pedal+for+guitar", _WEB_H, note="the word 'delay'"),
    rec("GET", "/search?q=cat+food+grain+free", _WEB_H, note="the word 'cat'"),
    rec("GET", "/search?q=passwd+reset+not+working", _WEB_H, note="'passwd' typo in a help search"),
    rec("GET", "/search?q=etc+etc", _WEB_H, note="the word 'etc'"),
    rec("GET", "/search?q=exec+summary+template", _WEB_H, note="'exec' as in executive"),
    rec("GET", "/search?q=%E2%80%9CSmart+quotes%E2%80%9D+in+word", _WEB_H, note="curly quotes"),
    rec("GET", "/search?q=50%25+off+%26+free+shipping", _WEB_H, note="percent and ampersand"),
    rec("GET", "/search?q=sum%28a%2Cb%29+excel+formula", _WEB_H, note="spreadsheet formula text"),
    rec("GET", "/search?q=%3D%3D+vs+%3D%3D%3D+javascript", _WEB_H, note="JS operators question"),
    rec("GET", "/search?q=%2Fbin+folder+linux+meaning", _WEB_H, note="a directory name question"),
    rec("GET", "/search?q=ping+pong+table", _WEB_H, note="'ping' in a product search"),
    rec("GET", "/search?q=time+warner+cable", _WEB_H, note="'time' at the start"),
    rec("GET", "/search?q=having+trouble+logging+in", _WEB_H, note="'having' in prose"),
    rec("GET", "/search?q=like+new+condition", _WEB_H, note="'like' in prose"),
    rec("GET", "/search?q=null+island", _WEB_H, note="geography trivia"),
    rec("GET", "/search?q=order+by+phone", _WEB_H, note="'order by' in prose"),
    rec("GET", "/search?q=group+by+size", _WEB_H, note="'group by' in prose"),
    rec("GET", "/search?q=insert+coin", _WEB_H, note="'insert' in prose"),
    rec("GET", "/search?q=delete+from+history+chrome", _WEB_H, note="'delete from' in prose"),
    rec("GET", "/search?q=update+set+top+box", _WEB_H, note="'update set' in prose"),
    rec("GET", "/wiki/SQL_injection", _WEB_H, note="reading an encyclopedia article about SQLi"),
    rec(
        "GET",
        "/wiki/Cross-site_scripting",
        _WEB_H,
        note="reading an encyclopedia article about XSS",
    ),
    rec("GET", "/wiki/Bobby_Tables", _WEB_H, note="a famous comic's wiki page"),
    rec(
        "GET",
        "/books/978-0-596-52068-7/O%27Reilly-Learning-Python",
        _WEB_H,
        note="apostrophe in path",
    ),
    rec("GET", "/artists/Guns%20N%27%20Roses/albums", _WEB_H, note="band name in path"),
    rec("GET", "/products/1-2-inch-socket-set", _WEB_H, note="dashes and digits"),
    rec("GET", "/docs/v2/select-statement.html", _WEB_H, note="docs page about SELECT"),
    rec("GET", "/docs/api/union-types", _WEB_H, note="docs page about union types"),
    rec("GET", "/blog/2024/05/why-we-dropped-mongodb", _WEB_H, note="'dropped' in a slug"),
    rec("GET", "/files/report-2024.pdf", _WEB_H, note="file download"),
    rec("GET", "/files/Q3%20Budget%20(final).xlsx", _WEB_H, note="parentheses in a file name"),
    rec("GET", "/u/jean-luc.o%27neill", _WEB_H, note="profile URL with an apostrophe"),
    rec("GET", "/tags/c%2B%2B", _WEB_H, note="C++ tag"),
    rec("GET", "/tags/.net", _WEB_H, note=".NET tag (leading dot)"),
    rec(
        "GET",
        "/redirect?url=https%3A%2F%2Fwww.example.org%2Fnews%3Fid%3D42",
        _WEB_H,
        note="outbound link tracker with an https URL",
    ),
    rec(
        "GET",
        "/share?u=https%3A%2F%2Fshop.example.com%2Fp%2F123&text=Look+at+this%21",
        _WEB_H,
        note="share dialog",
    ),
    rec(
        "GET",
        "/proxy/image?src=https%3A%2F%2Fcdn.example.com%2Fimg%2Fa.png&w=640",
        _WEB_H,
        note="image resizer with an https source",
    ),
    rec(
        "GET",
        "/api/v1/items?filter=name+eq+%27widget%27+and+price+lt+10",
        _JSON_H,
        note="OData-style filter expression",
    ),
    rec(
        "GET",
        "/odata/Products?$filter=Price%20gt%2020%20and%20Category%20eq%20%27Books%27&$orderby=Name%20desc&$top=10",
        _JSON_H,
        note="OData query options",
    ),
    rec(
        "GET",
        "/api/v1/users?where=%7B%22age%22%3A%7B%22%24gte%22%3A18%7D%7D",
        _JSON_H,
        note="Parse-style JSON where clause (app-defined filter syntax)",
    ),
    rec(
        "GET",
        "/api/v1/events?since=2024-05-01T00:00:00%2B02:00&until=2024-05-31",
        _JSON_H,
        note="timestamps with offsets",
    ),
    rec(
        "GET",
        "/api/v1/search?q=title%3A%22annual+report%22+AND+year%3A2024",
        _JSON_H,
        note="Lucene query syntax in a search API",
    ),
    rec(
        "GET",
        "/api/v1/logs?query=level%3Aerror+OR+level%3Awarn&limit=100",
        _JSON_H,
        note="log search with OR",
    ),
    rec(
        "GET",
        "/api/v1/metrics?expr=sum%28rate%28http_requests_total%5B5m%5D%29%29+by+%28code%29",
        _JSON_H,
        note="PromQL expression",
    ),
    rec("GET", "/api/v1/calc?expr=%281%2B2%29%2A3", _JSON_H, note="arithmetic in a calculator API"),
    rec(
        "GET",
        "/api/v1/regex/test?pattern=%5E%5Ba-z0-9_-%5D%7B3%2C16%7D%24",
        _JSON_H,
        note="regex tester",
    ),
    rec(
        "GET",
        "/maps/api/geocode/json?address=1600+Amphitheatre+Pkwy%2C+Mountain+View%2C+CA",
        _JSON_H,
        note="geocoding an address",
    ),
    rec(
        "GET",
        "/api/v1/translate?text=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82%2C+%D0%BC%D0%B8%D1%80&to=en",
        _JSON_H,
        note="Cyrillic text in a query",
    ),
    rec(
        "GET",
        "/api/v1/translate?text=%D7%A9%D7%9C%D7%95%D7%9D+%D7%A2%D7%95%D7%9C%D7%9D&to=en",
        _JSON_H,
        note="Hebrew (RTL) text in a query",
    ),
    rec(
        "GET",
        "/api/v1/translate?text=%E4%BD%A0%E5%A5%BD%E4%B8%96%E7%95%8C&to=en",
        _JSON_H,
        note="Chinese text in a query",
    ),
    rec(
        "POST",
        "/api/v1/comments",
        _JSON_H,
        json.dumps(
            {
                "body": "I tried `SELECT * FROM orders WHERE id = 1;` in the console and it "
                "returned nothing. Is the table empty?"
            }
        ),
        "application/json",
        "support question quoting a SQL statement",
    ),
    rec(
        "POST",
        "/api/v1/comments",
        _JSON_H,
        json.dumps(
            {"body": "Classic XKCD: little Bobby Tables! Always sanitize your inputs, folks."}
        ),
        "application/json",
        "comment about a famous comic",
    ),
    rec(
        "POST",
        "/api/v1/comments",
        _JSON_H,
        json.dumps(
            {"body": "Use <code>&lt;br&gt;</code> for a line break, or better, CSS margins."}
        ),
        "application/json",
        "escaped HTML in a comment",
    ),
    rec(
        "POST",
        "/api/v1/comments",
        _JSON_H,
        json.dumps({"body": "Whether you pick 1 or 2 it's fine -- both work; 'either' is OK too."}),
        "application/json",
        "quotes and 'or' digits",
    ),
    rec(
        "POST",
        "/api/v1/notes",
        _JSON_H,
        json.dumps(
            {"text": "TODO: drop the old users_backup table after the migration (ask DBA first)"}
        ),
        "application/json",
        "note mentioning dropping a table",
    ),
    rec(
        "POST",
        "/api/v1/notes",
        _JSON_H,
        json.dumps({"text": "Union dues: $25/month; select 'monthly' or 'annual' on the form."}),
        "application/json",
        "union/select/or in one sentence",
    ),
    rec(
        "POST",
        "/api/v1/notes",
        _JSON_H,
        json.dumps({"text": "Remember: the shell command is `ls -la ~/Downloads` on macOS."}),
        "application/json",
        "a shell command quoted in a note",
    ),
    rec(
        "POST",
        "/api/v1/notes",
        _JSON_H,
        json.dumps({"text": "Dinner at 7; bring wine & cheese. Alice's treat!"}),
        "application/json",
        "semicolon, ampersand, apostrophe",
    ),
    rec(
        "POST",
        "/api/v1/notes",
        _JSON_H,
        json.dumps(
            {"text": "Path to the config on Windows: C:\\Program Files\\Example\\config.ini"}
        ),
        "application/json",
        "a Windows path",
    ),
    rec(
        "POST",
        "/api/v1/notes",
        _JSON_H,
        json.dumps({"text": "Prices: {small: $5, large: $9} -- see the 2024 catalog"}),
        "application/json",
        "braces and dollar signs in prose",
    ),
    rec(
        "POST",
        "/api/v1/notes",
        _JSON_H,
        json.dumps({"text": "Math homework: if x = 1 then 2x + 1 = 3, and 1 = 1 is always true."}),
        "application/json",
        "equations in homework",
    ),
    rec(
        "POST",
        "/api/v1/docs",
        _JSON_H,
        json.dumps(
            {
                "title": "SQL basics",
                "body": "## SELECT\nUse `SELECT col FROM t WHERE x > 5`.\n\n"
                "## UNION\n`SELECT a FROM t1 UNION SELECT a FROM t2` merges result sets.\n\n"
                "## DROP\n`DROP TABLE t;` deletes a table -- be careful!",
            }
        ),
        "application/json",
        "SQL tutorial in a docs platform",
    ),
    rec(
        "POST",
        "/api/v1/docs",
        _JSON_H,
        json.dumps(
            {
                "title": "Python intro",
                "body": "```python\nimport os\nfiles = os.listdir('.')\nprint(len(files))\n```",
            }
        ),
        "application/json",
        "Python tutorial",
    ),
    rec(
        "POST",
        "/api/v1/docs",
        _JSON_H,
        json.dumps(
            {
                "title": "JS events",
                "body": "```js\nbutton.addEventListener('click', () => "
                "console.log('clicked'));\n```",
            }
        ),
        "application/json",
        "JavaScript tutorial",
    ),
    rec(
        "POST",
        "/api/v1/cms/blocks",
        _JSON_H,
        json.dumps(
            {
                "html": '<p>Call us at <a href="tel:+18005550199">1-800-555-0199</a> or '
                '<a href="https://example.com/contact?topic=sales&amp;ref=footer">write</a>.</p>'
            }
        ),
        "application/json",
        "CMS HTML block with links",
    ),
    rec(
        "POST",
        "/api/v1/cms/blocks",
        _JSON_H,
        json.dumps(
            {
                "html": '<img src="https://cdn.example.com/a.jpg" alt="Alt text with \'quotes\'" '
                'loading="lazy">'
            }
        ),
        "application/json",
        "CMS image block",
    ),
    rec(
        "POST",
        "/api/v1/cms/blocks",
        _JSON_H,
        json.dumps(
            {
                "html": '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ" '
                'width="560" height="315" allowfullscreen></iframe>'
            }
        ),
        "application/json",
        "video embed from a CMS (https iframe)",
    ),
    rec(
        "POST",
        "/api/v1/emails/send",
        _JSON_H,
        json.dumps(
            {
                "to": "anna.mueller@example.de",
                "subject": "Your order #10423 has shipped",
                "html": "<html><body><p>Hi Anna,</p><p>Your order is on its way.</p>"
                '<p><a href="https://shop.example.com/orders/10423">Track it</a></p>'
                "</body></html>",
            }
        ),
        "application/json",
        "transactional email template",
    ),
    rec(
        "POST",
        "/api/v1/feedback",
        _JSON_H,
        json.dumps({"message": "¡Excelente servicio! 👏🏼 — María José (São Paulo)"}),
        "application/json",
        "emoji and accents",
    ),
    rec(
        "POST",
        "/api/v1/feedback",
        _JSON_H,
        json.dumps({"message": "كان التوصيل سريعا جدا، شكرا لكم"}, ensure_ascii=True),
        "application/json",
        "Arabic (RTL), \\u-escaped JSON",
    ),
    rec(
        "POST",
        "/api/v1/feedback",
        _JSON_H,
        json.dumps({"message": "Спасибо! Всё пришло вовремя, упаковка целая."}, ensure_ascii=False),
        "application/json",
        "Russian feedback",
    ),
    rec(
        "POST",
        "/api/v1/contacts",
        _JSON_H,
        json.dumps(
            {
                "name": "Seán Ó Súilleabháin",
                "email": "sean.osullivan+shop@example.ie",
                "phone": "+353 (0)1 555-0199 ext. 42",
            }
        ),
        "application/json",
        "plus-addressing and phone extension",
    ),
    rec(
        "POST",
        "/api/v1/contacts",
        _JSON_H,
        json.dumps({"name": "D'Arcy O'Neill-Smith", "company": "O'Neill & Sons, Ltd."}),
        "application/json",
        "names with apostrophes and ampersand",
    ),
    rec(
        "POST",
        "/api/v1/settings",
        _JSON_H,
        json.dumps(
            {
                "webhook_url": "https://hooks.example.com/services/T000/B000/XXXX",
                "redirect_after_login": "/dashboard?tab=overview",
            }
        ),
        "application/json",
        "URLs in settings",
    ),
    rec(
        "POST",
        "/api/v1/settings",
        _JSON_H,
        json.dumps(
            {"date_format": "%Y-%m-%d %H:%M", "number_format": "#,##0.00", "csv_delimiter": ";"}
        ),
        "application/json",
        "format strings",
    ),
    rec(
        "POST",
        "/api/v1/settings",
        _JSON_H,
        json.dumps({"allowed_origins": ["https://app.example.com", "http://localhost:3000"]}),
        "application/json",
        "CORS origins including localhost",
    ),
    rec(
        "PUT",
        "/api/v1/templates/greeting",
        _JSON_H,
        json.dumps(
            {"template": "Hello {{ user.first_name }}, your order {{ order.id }} is ready."}
        ),
        "application/json",
        "Mustache/Jinja-style template stored by an admin",
    ),
    rec(
        "POST",
        "/api/v1/sheets/cells",
        _JSON_H,
        json.dumps({"cell": "C2", "formula": '=IF(A2>100,"high","low")'}),
        "application/json",
        "spreadsheet formula",
    ),
    rec(
        "POST",
        "/api/v1/sheets/cells",
        _JSON_H,
        json.dumps({"cell": "D5", "formula": "=SUM(D1:D4)"}),
        "application/json",
        "spreadsheet SUM formula",
    ),
    rec(
        "POST",
        "/api/v1/regex",
        _JSON_H,
        json.dumps({"pattern": "^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@example\\.com$", "flags": "i"}),
        "application/json",
        "email regex in a validation config",
    ),
    rec(
        "POST",
        "/api/v1/cron",
        _JSON_H,
        json.dumps({"schedule": "*/15 * * * *", "command": "send_digest", "tz": "Europe/Berlin"}),
        "application/json",
        "cron expression",
    ),
    rec(
        "POST",
        "/api/v1/files/meta",
        _JSON_H,
        json.dumps({"path": "/Users/anna/Documents/Q3 Budget (final).xlsx", "size": 48213}),
        "application/json",
        "a client-side file path in metadata",
    ),
    rec(
        "POST",
        "/api/v1/hashes",
        _JSON_H,
        json.dumps(
            {
                "md5": "9e107d9d372bb6826bd81d3542a419d6",
                "sha256": "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
            }
        ),
        "application/json",
        "hex digests",
    ),
    rec(
        "POST",
        "/api/v1/keys",
        _JSON_H,
        json.dumps(
            {
                "public_key": "ssh-ed25519 "
                "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl anna@laptop"
            }
        ),
        "application/json",
        "SSH public key",
    ),
    rec(
        "POST",
        "/api/v1/certs",
        _JSON_H,
        json.dumps(
            {
                "pem": "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2x1Y2t5\n"
                "-----END CERTIFICATE-----\n"
            }
        ),
        "application/json",
        "PEM certificate",
    ),
    rec(
        "POST",
        "/login",
        _WEB_H,
        "username=admin&password=admin%27s+secret%21",
        "application/x-www-form-urlencoded",
        "password with an apostrophe",
    ),
    rec(
        "POST",
        "/login",
        _WEB_H,
        "username=bob&password=Space+Odyssey+%222001%22+or+bust",
        "application/x-www-form-urlencoded",
        "passphrase with quotes and 'or'",
    ),
    rec(
        "POST",
        "/login",
        _WEB_H,
        "username=j.doe%40example.com&password=x%3Dy%3Bz%26w",
        "application/x-www-form-urlencoded",
        "password with = ; &",
    ),
    rec(
        "POST",
        "/register",
        _WEB_H,
        "username=union_jack&display_name=Union+Jack&email=uj%40example.co.uk&password=Sel3ct%21%21",
        "application/x-www-form-urlencoded",
        "username with 'union', password with 'select'",
    ),
    rec(
        "POST",
        "/newsletter",
        _WEB_H,
        "email=marketing%40example.com&comment=Please+insert+into+our+newsletter+list+the+whole+team",
        "application/x-www-form-urlencoded",
        "'insert into' in prose",
    ),
    rec(
        "POST",
        "/contact",
        _WEB_H,
        "name=Anna&message=Hi%21+Could+you+drop+table+reservations+for+8+people+at+7pm%3F",
        "application/x-www-form-urlencoded",
        "restaurant booking: 'drop table reservations' in prose",
    ),
    rec(
        "POST",
        "/contact",
        _WEB_H,
        "name=Raj&message=Our+order+is+1+or+2+items+short%2C+can+you+check%3F",
        "application/x-www-form-urlencoded",
        "'1 or 2' in prose",
    ),
    rec(
        "POST",
        "/contact",
        _WEB_H,
        "name=Lee&message=I+can%27t+select+my+country+from+the+list+%28it%27s+%22C%C3%B4te+d%27Ivoire%22%29",
        "application/x-www-form-urlencoded",
        "country name with apostrophes and quotes",
    ),
    rec(
        "POST",
        "/forum/reply",
        _WEB_H,
        "body=%3Eplease+help%0D%0A%3E+quoted+text%0D%0AThanks%21&thread=1423",
        "application/x-www-form-urlencoded",
        "quoted reply lines starting with '>'",
    ),
    rec(
        "POST",
        "/forum/reply",
        _WEB_H,
        "body=Try+%60git+log+--oneline+%7C+head+-5%60+to+see+the+last+commits.&thread=88",
        "application/x-www-form-urlencoded",
        "git command with a pipe in a forum reply",
    ),
    rec(
        "POST",
        "/forum/reply",
        _WEB_H,
        "body=In+Python%2C+%60eval%28%29%60+is+dangerous%3B+use+ast.literal_eval+instead.&thread=91",
        "application/x-www-form-urlencoded",
        "advice mentioning eval()",
    ),
    rec(
        "POST",
        "/checkout",
        _WEB_H,
        "address=123+Main+St.%2C+Apt+%234&city=Springfield&notes=Ring+twice%3B+dog+is+friendly",
        "application/x-www-form-urlencoded",
        "address with # and ;",
    ),
    rec("GET", "/track?id=1Z999AA10123456784&carrier=ups", _WEB_H, note="tracking number"),
    rec(
        "GET",
        "/calendar?date=2024-12-31&view=week&tz=America%2FNew_York",
        _WEB_H,
        note="dates and tz",
    ),
    rec("GET", "/weather?q=Z%C3%BCrich&units=metric", _WEB_H, note="city with umlaut"),
    rec("GET", "/emoji?q=%F0%9F%8E%89", _WEB_H, note="emoji in a query"),
    rec(
        "GET",
        "/api/v1/orders?status=open&sort=-created_at&fields=id,name,total",
        _JSON_H,
        note="raw commas in fields",
    ),
    rec(
        "GET",
        "/api/v1/items?filter%5Bstatus%5D=open&filter%5Btags%5D%5B%5D=a&filter%5Btags%5D%5B%5D=b",
        _JSON_H,
        note="bracket-encoded nested filters",
    ),
    rec(
        "GET",
        "/api/v1/items?price=10..20&rating=%3E%3D4",
        _JSON_H,
        note="range and comparison syntax",
    ),
    rec("GET", "/api/v1/items?sort=price:asc,name:desc", _JSON_H, note="sort with colons"),
    rec(
        "HEAD",
        "/healthz",
        [["User-Agent", "kube-probe/1.30"], ["Accept", "*/*"]],
        note="liveness probe",
    ),
    rec(
        "GET",
        "/metrics",
        [
            ["User-Agent", "Prometheus/2.51.2"],
            [
                "Accept",
                "application/openmetrics-text; "
                "version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            ],
        ],
        note="Prometheus scrape",
    ),
    rec(
        "OPTIONS",
        "/api/v1/orders",
        [
            ["User-Agent", _B],
            ["Origin", "https://app.example.com"],
            ["Access-Control-Request-Method", "PATCH"],
            ["Access-Control-Request-Headers", "authorization,content-type"],
        ],
        note="CORS preflight",
    ),
    rec(
        "GET",
        "/ws/notifications",
        [
            ["User-Agent", _B],
            ["Connection", "Upgrade"],
            ["Upgrade", "websocket"],
            ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
            ["Sec-WebSocket-Version", "13"],
            ["Origin", "https://app.example.com"],
        ],
        note="WebSocket upgrade",
    ),
    rec(
        "GET",
        "/api/v1/me",
        [
            ["User-Agent", "curl/8.5.0"],
            ["Accept", "*/*"],
            ["Authorization", "Basic YW5uYTpjb3JyZWN0IGhvcnNlIGJhdHRlcnkgc3RhcGxl"],
        ],
        note="curl with basic auth",
    ),
    rec(
        "GET",
        "/",
        [
            [
                "User-Agent",
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            ],
            ["Accept", "text/html"],
            ["From", "googlebot(at)googlebot.com"],
        ],
        note="search engine crawler",
    ),
    rec(
        "GET",
        "/feed.xml",
        [
            ["User-Agent", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 42 subscribers)"],
            ["Accept", "application/rss+xml, application/atom+xml"],
        ],
        note="feed reader",
    ),
    rec(
        "POST",
        "/api/v1/xml/import",
        [["User-Agent", "Apache-HttpClient/4.5.14 (Java/17.0.10)"], ["Accept", "application/xml"]],
        '<?xml version="1.0" encoding="UTF-8"?>\n<orders><order id="10423">'
        "<customer>O'Brien &amp; Sons</customer>"
        '<total currency="EUR">129.90</total><note>Leave at the door</note></order></orders>',
        "application/xml",
        "XML import from an ERP (plain document, no DTD)",
    ),
    rec(
        "POST",
        "/soap/InventoryService",
        [["User-Agent", "Apache-CXF/3.6.2"], ["SOAPAction", '"urn:getStock"']],
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:inv="urn:inventory">'
        "<soapenv:Body><inv:getStock><inv:sku>ABC-123</inv:sku></inv:getStock></soapenv:Body></soapenv:Envelope>",
        "text/xml; charset=utf-8",
        "SOAP call",
    ),
    rec(
        "POST",
        "/csp-report",
        [["User-Agent", _B]],
        json.dumps(
            {
                "csp-report": {
                    "document-uri": "https://shop.example.com/checkout",
                    "violated-directive": "img-src",
                    "blocked-uri": "https://tracker.example.net/p.gif",
                    "original-policy": "default-src 'self'; img-src 'self' https://cdn.example.com",
                }
            }
        ),
        "application/csp-report",
        "browser CSP violation report",
    ),
    rec(
        "POST",
        "/api/v1/errors",
        _JSON_H,
        json.dumps(
            {
                "message": "TypeError: Cannot read properties of undefined (reading 'map')",
                "stack": "TypeError: Cannot read properties of undefined (reading 'map')\n"
                "    at OrderList (https://shop.example.com/static/js/main.3f9a1c2b.js:2:10423)\n"
                "    at renderWithHooks (https://shop.example.com/static/js/vendors.js:1:52011)",
            }
        ),
        "application/json",
        "front-end error report with a JS stack trace",
    ),
    rec(
        "POST",
        "/api/v1/errors",
        _JSON_H,
        json.dumps(
            {
                "exception": 'psycopg.errors.UndefinedColumn: column "emial" does not exist\n'
                "LINE 1: SELECT id, emial FROM users WHERE id = $1"
            }
        ),
        "application/json",
        "server error forwarded to an error tracker, containing SQL",
    ),
]


# --- output ----------------------------------------------------------------------------

GENERATORS: Final[dict[str, Callable[[random.Random], list[Record]]]] = {
    "browser.jsonl": gen_browser,
    "api.jsonl": gen_api,
    "json-bodies.jsonl": gen_json,
    "webhooks.jsonl": gen_webhooks,
    "forms.jsonl": gen_forms,
    "uploads.jsonl": gen_uploads,
    "graphql.jsonl": gen_graphql,
    "auth.jsonl": gen_auth,
}


def render() -> dict[str, str]:
    """File name -> content of every corpus file (the generator is pure)."""
    files: dict[str, str] = {}
    for name, generate in GENERATORS.items():
        rng = random.Random(f"{SEED}:{name}")
        files[name] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in generate(rng))
    files["lookalikes.jsonl"] = "".join(
        json.dumps(r, ensure_ascii=False) + "\n" for r in LOOKALIKES
    )
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [
            n
            for n, text in files.items()
            if not (args.out / n).exists() or (args.out / n).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"stale: {args.out / name}", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
        total += text.count("\n")
    print(f"wrote {total} requests in {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
