"""SQL injection by tokenising, in the manner of libinjection (our own code).

A value is read three ways: as it is, as if it followed an opening single quote
and as if it followed an opening double quote. Each reading is cut into typed
tokens (strings, numbers, keywords, operators, functions, comments, barewords)
and the first few tokens are judged against the shapes that SQL injections
take: a closed string or a number followed by a boolean test, a UNION, a
stacked statement, a comment that cuts the rest of the query off, and so on.
Prose that merely contains SQL words does not make these shapes.

Each reading looks at a bounded prefix of tokens, so the cost does not grow
with the length of the value beyond one scan for the closing quote.
"""

from __future__ import annotations

from typing import Final, NamedTuple

#: token kinds, one character each so that a reading has a short fingerprint
STRING: Final = "s"
NUMBER: Final = "1"
BAREWORD: Final = "n"
KEYWORD: Final = "k"
UNION: Final = "U"
STATEMENT: Final = "E"
LOGIC: Final = "&"
OPERATOR: Final = "o"
FUNCTION: Final = "f"
VARIABLE: Final = "v"
COMMENT: Final = "c"
SEMICOLON: Final = ";"
LPAREN: Final = "("
RPAREN: Final = ")"
COMMA: Final = ","
EVIL: Final = "X"  # a character that has no business in SQL text (NUL, braces)

MAX_TOKENS: Final = 14
MAX_SCAN: Final = 4096  # characters of one reading that the tokenizer walks

_STATEMENTS: Final = frozenset(
    {
        "select", "insert", "update", "delete", "drop", "create", "alter", "truncate",
        "exec", "execute", "declare", "shutdown", "waitfor", "grant", "revoke", "merge",
        "replace", "rename", "call", "handler", "load", "lock", "show", "desc", "describe",
        "use",
    }
)  # fmt: skip
_UNIONS: Final = frozenset({"union", "intersect", "except", "minus"})
_LOGIC_WORDS: Final = frozenset({"and", "or", "xor", "not", "div", "mod"})
_OPERATOR_WORDS: Final = frozenset(
    {"like", "rlike", "regexp", "is", "in", "between", "sounds", "collate", "escape", "glob",
     "match", "against", "binary", "notnull", "isnull"}
)  # fmt: skip
_LITERAL_WORDS: Final = frozenset({"true", "false", "null", "unknown", "current_user",
                                    "current_date", "current_time", "sysdate", "user"})  # fmt: skip
_KEYWORDS: Final = frozenset(
    {
        "from", "where", "table", "into", "values", "set", "by", "order", "group", "having",
        "limit", "offset", "join", "inner", "outer", "left", "right", "cross", "on", "as",
        "all", "distinct", "top", "case", "when", "then", "else", "end", "database",
        "schema", "procedure", "function", "trigger", "view", "index", "delay", "time",
        "outfile", "dumpfile", "asc", "exists", "begin", "if", "while", "return", "cast",
        "convert", "column", "add", "modify", "rows", "fetch", "next", "only", "with",
        "for", "xml", "path", "raw", "auto", "explicit", "nowait", "analyse",
        "login", "password", "openrowset", "opendatasource", "openquery",
    }
)  # fmt: skip
#: functions that matter even when nothing else in the value looks like SQL
_ATTACK_FUNCTIONS: Final = frozenset(
    {
        "sleep", "benchmark", "pg_sleep", "load_file", "extractvalue", "updatexml",
        "waitfor", "dbms_pipe.receive_message", "utl_inaddr.get_host_name", "xp_cmdshell",
        "sp_executesql", "sp_oacreate", "version", "database", "user_name", "schema_name",
        "group_concat", "concat_ws", "char", "chr", "ascii", "substring", "substr", "mid",
        "ord", "hex", "unhex", "md5", "sha1", "exp", "floor", "rand", "row_count",
        "information_schema", "convert", "cast", "if", "iif", "ifnull", "nullif", "coalesce",
        "count", "concat", "elt", "make_set", "randomblob", "sqlite_version",
        "pg_read_file", "lo_import", "to_char", "json_keys", "gtid_subset", "polygon",
        "multipoint", "geometrycollection", "linestring", "name_const", "current_user",
        "system_user", "session_user", "db_name", "host_name", "suser_name", "is_srvrolemember",
        "len", "length", "lower", "upper", "reverse", "instr", "locate", "position", "left",
        "right", "isnull", "str", "unicode", "nchar", "rpad", "lpad", "sys_context",
        "xmltype", "dbms_xmlgen.getxml", "ctxsys.drithsx.sn", "count_big",
    }
)  # fmt: skip

_SPLIT_AT_DOT: Final = _STATEMENTS | _UNIONS | _LOGIC_WORDS | _KEYWORDS
_WORD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$.")
_SPACE: Final = frozenset(" \t\n\r\x0b\x0c\xa0")
_OPERATOR_CHARS: Final = frozenset("=<>!+-*/%|&^~:?")
_DIGITS: Final = frozenset("0123456789")


class Token(NamedTuple):
    kind: str
    text: str


def tokenize(text: str, *, quote: str = "") -> list[Token]:
    """Cut `text` into at most MAX_TOKENS tokens.

    With `quote`, the text is read as if an opening `quote` came before it: the
    part up to the first `quote` is one string token.
    """
    tokens: list[Token] = []
    n = min(len(text), MAX_SCAN)
    i = 0
    if quote:
        end = text.find(quote)
        if end < 0:
            return []
        tokens.append(Token(STRING, text[:end]))
        i = end + 1
    while i < n and len(tokens) < MAX_TOKENS:
        ch = text[i]
        if ch in _SPACE:
            i += 1
            continue
        if ch in "#-/" and _quoted_symbol(text, i):
            # `"#"`, `'--'`, `"/*"`: a comment sign that text quotes, not one that cuts
            # the query (after that, the closing quote would be a comment too)
            tokens.append(Token(BAREWORD, ch))
            i += 1
            continue
        if ch in "'\"":
            end = _string_end(text, i + 1, ch)
            if end < 0:
                tokens.append(Token(STRING, text[i + 1 :]))
                break
            tokens.append(Token(STRING, text[i + 1 : end]))
            i = end + 1
            continue
        if ch == "`":
            end = text.find("`", i + 1)
            end = len(text) if end < 0 else end
            tokens.append(Token(BAREWORD, text[i + 1 : end]))
            i = end + 1
            continue
        if ch == "[" and tokens and tokens[-1].kind not in (BAREWORD, STRING):
            # MSSQL bracketed name
            end = text.find("]", i + 1)
            if end > 0 and end - i < 64:
                tokens.append(Token(BAREWORD, text[i + 1 : end]))
                i = end + 1
                continue
        if ch == "#":
            if i + 1 < n and text[i + 1].isalnum():
                # `#60`, `#include`, `#tag`: a hash that text uses; an injection cuts
                # the query with `#` at its end or before a space or a line break
                tokens.append(Token(BAREWORD, "#"))
                i += 1
                continue
            tokens.append(Token(COMMENT, "#"))
            break
        if ch == "-" and text.startswith("--", i) and not text[i + 2 : i + 3].isalpha():
            # `--quiet` is an option; a comment that cuts a query off is `--`, `-- -`,
            # `--+` (MySQL wants a space after it)
            tokens.append(Token(COMMENT, "--"))
            break
        if ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            body = text[i + 2 : end if end >= 0 else n]
            if body.startswith("!"):
                # MySQL executable comment: its content is SQL
                i += 2
                while i < n and (text[i] == "!" or text[i] in _DIGITS):
                    i += 1
                continue
            if end < 0:
                tokens.append(Token(COMMENT, "/*"))
                break
            # an inline comment is whitespace to SQL; keep it only when it ends input
            i = end + 2
            if i >= n:
                tokens.append(Token(COMMENT, "/**/"))
            continue
        if ch == "*" and text.startswith("*/", i):
            i += 2
            continue
        if ch == ";":
            tokens.append(Token(SEMICOLON, ";"))
            i += 1
            continue
        if ch == "(":
            tokens.append(Token(LPAREN, "("))
            i += 1
            continue
        if ch == ")":
            tokens.append(Token(RPAREN, ")"))
            i += 1
            continue
        if ch == ",":
            tokens.append(Token(COMMA, ","))
            i += 1
            continue
        if ch == "@":
            j = i + 1
            while j < n and (text[j] in _WORD_CHARS or text[j] == "@"):
                j += 1
            tokens.append(Token(VARIABLE, text[i:j]))
            i = j
            continue
        if ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            j = i + 1
            while j < n and (text[j] in _WORD_CHARS):
                j += 1
            word = text[i:j]
            if word[:2].lower() in ("0x", "0b") or _is_number(word):
                tokens.append(Token(NUMBER, word))
            else:
                tokens.append(Token(BAREWORD, word))
            i = j
            continue
        if ch in _WORD_CHARS:
            j = i + 1
            while j < n and text[j] in _WORD_CHARS:
                j += 1
            dot = text.find(".", i, j)
            if dot > i and text[i:dot].lower() in _SPLIT_AT_DOT:
                j = dot  # `select.1`, `union.all`: MySQL reads a keyword, then a number
            word = text[i:j]
            i = j
            tokens.append(_classify_word(word, text, i, n))
            continue
        if ch in _OPERATOR_CHARS:
            j = i + 1
            while j < n and text[j] in _OPERATOR_CHARS and j - i < 3:
                if text.startswith("--", j) or text.startswith("/*", j):
                    break
                j += 1
            op = text[i:j]
            tokens.append(Token(LOGIC if op in ("&&", "||") else OPERATOR, op))
            i = j
            continue
        if ch in "{}\\\x00":
            tokens.append(Token(EVIL, ch))
        else:
            tokens.append(Token(BAREWORD, ch))
        i += 1
    return tokens


def _quoted_symbol(text: str, i: int) -> bool:
    """Whether a comment sign at `i` stands alone between two equal quotes."""
    if i == 0 or text[i - 1] not in "'\"":
        return False
    for sign in ("#", "--", "/*"):
        if text.startswith(sign, i):
            return text[i + len(sign) : i + len(sign) + 1] == text[i - 1]
    return False


def _string_end(text: str, start: int, quote: str) -> int:
    i = start
    while True:
        end = text.find(quote, i, start + MAX_SCAN)
        if end < 0:
            return -1
        if end + 1 < len(text) and text[end + 1] == quote:  # doubled quote
            i = end + 2
            continue
        backslashes = 0
        k = end - 1
        while k >= start and text[k] == "\\":
            backslashes += 1
            k -= 1
        if backslashes % 2:
            i = end + 1
            continue
        return end


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _classify_word(word: str, text: str, i: int, n: int) -> Token:
    lower = word.lower()
    if lower in _LOGIC_WORDS:
        return Token(LOGIC, lower)
    if lower in _UNIONS:
        return Token(UNION, lower)
    if lower in _OPERATOR_WORDS:
        return Token(OPERATOR, lower)
    # a word followed by "(" is a function call, whatever it is called
    j = i
    while j < n and text[j] in _SPACE:
        j += 1
    if j < n and text[j] == "(" and lower not in _STATEMENTS and lower not in _KEYWORDS:
        return Token(FUNCTION, lower)
    if lower in _STATEMENTS:
        return Token(STATEMENT, lower)
    if lower in _OPERATOR_WORDS:
        return Token(OPERATOR, lower)
    if lower in _LITERAL_WORDS:
        return Token(NUMBER, lower)
    if lower in _KEYWORDS:
        return Token(KEYWORD, lower)
    if j < n and text[j] == "(":
        return Token(FUNCTION, lower)
    return Token(BAREWORD, word)


def fingerprint(tokens: list[Token]) -> str:
    return "".join(t.kind for t in tokens)


#: statements that, right after a closed quote and ';', are SQL whatever follows
_STACKABLE: Final = frozenset({"select", "insert", "update", "delete", "drop", "create",
                               "alter", "truncate", "exec", "execute", "declare", "shutdown",
                               "waitfor"})  # fmt: skip
_OPERANDS: Final = frozenset({STRING, NUMBER, BAREWORD, VARIABLE, FUNCTION})
_VALUES: Final = frozenset({STRING, NUMBER, VARIABLE, FUNCTION})
_TAIL_END: Final = frozenset({COMMENT, SEMICOLON, RPAREN})


def _statement_follows(tokens: list[Token], i: int) -> bool:
    """Does a complete-looking SQL statement start at tokens[i] (a STATEMENT)?"""
    word = tokens[i].text
    rest = tokens[i + 1 : i + 6]
    kinds = "".join(t.kind for t in rest)
    texts = [t.text.lower() for t in rest]
    if word == "select":
        if not kinds:
            return False
        first = rest[0]
        if first.kind in (NUMBER, VARIABLE, FUNCTION, LPAREN) or first.text == "*":
            return True
        if first.kind == STRING:
            # `'select' button` is prose; `select 'a', 'b'` / `select 'x' from` is SQL
            return len(rest) > 1 and (
                rest[1].kind in (COMMA, COMMENT, SEMICOLON, OPERATOR) or texts[1] == "from"
            )
        if first.kind == KEYWORD and first.text in ("all", "distinct", "top", "case"):
            return True
        # select col from t / select a, b
        return kinds.startswith("n,") or (kinds.startswith("nkn") and texts[1] == "from")
    if word in ("insert", "replace"):
        return bool(texts) and texts[0] == "into"
    if word == "update":
        return len(texts) >= 3 and texts[1] == "set" and rest[2].kind == BAREWORD
    if word == "delete":
        return (
            len(texts) >= 2
            and texts[0] == "from"
            and (len(texts) == 2 or texts[2] in ("where", ";", "--", "#"))
        )
    if word in ("drop", "create", "alter", "truncate"):
        return bool(texts) and texts[0] in (
            "table", "database", "schema", "procedure", "function", "trigger", "view",
            "index", "user", "login", "column",
        )  # fmt: skip
    if word in ("exec", "execute"):
        return bool(rest) and (
            rest[0].text.lower().startswith(("xp_", "sp_", "master.", "(")) or rest[0].kind == "("
        )
    if word == "waitfor":
        return bool(texts) and texts[0] in ("delay", "time")
    if word == "declare":
        return bool(rest) and rest[0].kind == VARIABLE
    if word == "shutdown":
        return not rest or rest[0].kind in (COMMENT, SEMICOLON) or texts[0] == "with"
    if word in ("grant", "revoke"):
        return "to" in texts or "on" in texts
    if word in ("load",):
        return bool(texts) and texts[0] in ("data", "xml")
    if word in ("show",):
        return bool(texts) and texts[0] in ("tables", "databases", "grants", "variables")
    return False


def _after_break(tokens: list[Token], start: int) -> str | None:
    """Judge the tokens that follow a closed string or a leading number.

    Returns a short reason when they read as an injection, else None.
    """
    i = start
    # ')' closes the parentheses the query opened around the value
    closed = 0
    while i < len(tokens) and tokens[i].kind == RPAREN:
        i += 1
        closed += 1
    if i >= len(tokens):
        return None
    tail = tokens[i:]
    kinds = "".join(t.kind for t in tail)
    first = tail[0]
    if first.kind == COMMENT:
        # admin'-- : the rest of the query is cut off
        return "comment" if start > 0 and (closed or first.text != "/**/") else None
    if first.kind == SEMICOLON:
        if len(tail) == 1:
            return None
        if tail[1].kind == STATEMENT and (
            _statement_follows(tail, 1)
            or (start > 0 and tail[1].text in _STACKABLE and len(tail) > 2)
        ):
            return "stacked"
        if tail[1].kind == COMMENT:
            return "stacked-comment"
        return None
    if first.kind == UNION:
        return "union" if any(t.kind == STATEMENT for t in tail[1:4]) else None
    if first.kind == LOGIC:
        # ' or 1=1 / ' and sleep(5) / ' or 'a'='a / ' || (select ...)
        rest = kinds[1:]
        if not rest:
            return None
        k = 1
        while k < len(tail) and (tail[k].kind == LPAREN or tail[k].text == "not"):
            k += 1
        if k >= len(tail):
            return None
        if (
            k > 1
            and tail[k].kind in (BAREWORD, NUMBER, STRING, VARIABLE)
            and k + 1 < len(tail)
            and tail[k + 1].kind == OPERATOR
        ):
            return "compare"
        nxt = tail[1]
        if nxt.kind == LOGIC and nxt.text == "not":
            rest = rest[1:]
            if not rest:
                return None
            nxt = tail[2]
        if nxt.kind == FUNCTION:
            return "logic-function"
        if nxt.kind == LPAREN and (len(tail) > 2 and tail[2].kind in (STATEMENT, STRING, NUMBER)):
            return "logic-paren"
        if nxt.kind == STATEMENT and _statement_follows(tail, tail.index(nxt)):
            return "logic-statement"
        if nxt.kind in (NUMBER, STRING, VARIABLE):
            after = rest[1:2]
            if after in (OPERATOR, COMMENT, SEMICOLON, LOGIC):
                return "tautology"
            if not after and start > 0 and (nxt.kind == STRING or nxt.text in ("true", "1")):
                return "tautology"
            if after == RPAREN and closed:
                return "tautology"
            return None
        if nxt.kind == BAREWORD and len(rest) > 1 and rest[1] == OPERATOR:
            # ' or username like '%' / ' and id=id
            third = rest[2:3]
            if third in (STRING, NUMBER, BAREWORD, FUNCTION, LPAREN):
                return "compare"
            if third == KEYWORD and rest[3:4] == LPAREN:  # ' or id = any(select ...)
                return "compare"
            if not third and start > 0 and len(tail) < MAX_TOKENS:
                # ' or id- : the application's own closing quote completes the test
                return "compare-open"
        return _comment_terminated(tail) if start > 0 else None
    if (
        start > 0
        and first.text in _POSTFIX
        and len(tail) > 1
        and tail[1].kind in (COMMENT, SEMICOLON, LOGIC)
    ):
        return "postfix-test"  # x' notnull -- : a complete test, then the cut
    if first.text == "collate":
        if not _is_collation(tail[1:2]):
            return None  # `x' collate foo--` fails in every database: no collation `foo`
        if start > 0 and len(tail) > 2 and tail[2].kind in (COMMENT, SEMICOLON):
            return "comment-terminated"  # x'collate "utf8mb4_bin"--
    if start > 0 and first.kind == OPERATOR:
        reason = _comment_terminated(tail)
        if reason is not None:
            return reason
    if first.kind == OPERATOR:
        if len(tail) < 2:
            return None
        nxt = tail[1]
        if (
            first.text in ("like", "rlike", "regexp", "in", "not", "=")
            and nxt.kind == LPAREN
            and len(tail) > 2
            and tail[2].kind == STATEMENT
        ):
            return "operator-subquery"
        if first.text in ("||", "+", "-", "*", "/", "|", "^", "&", "=", "<", ">", "!=", "<>"):
            if nxt.kind == FUNCTION and (start > 0 or nxt.text in _ATTACK_FUNCTIONS):
                return "operator-function"
            if nxt.kind == LPAREN and len(tail) > 2 and tail[2].kind == STATEMENT:
                return "operator-subquery"
            if nxt.kind == VARIABLE and nxt.text.startswith("@@"):
                return "operator-variable"
            if (
                start > 0
                and first.text in ("=", "<", ">", "!=", "<>", "||")
                and nxt.kind in (STRING, NUMBER)
                and len(tail) > 2
                and tail[2].kind in (LOGIC, COMMENT, SEMICOLON)
            ):
                return "compare"
        if (
            first.text in ("like", "rlike", "regexp", "between", "in")
            and start > 0
            and nxt.kind in (STRING, NUMBER, LPAREN)
            and len(tail) > 2
            and tail[2].kind in (LOGIC, COMMENT, SEMICOLON)
        ):
            return "compare"
        return None
    if first.kind == KEYWORD:
        text = first.text
        if (
            text in ("order", "group")
            and len(tail) > 2
            and tail[1].text == "by"
            and tail[2].kind in (NUMBER, BAREWORD, LPAREN, FUNCTION)
            and (
                len(tail) == 3
                or tail[3].kind in (COMMENT, SEMICOLON, COMMA, LOGIC, OPERATOR)
                or tail[3].text == "having"
            )
        ):
            return "order-by"
        if text == "having" and len(tail) > 1 and tail[1].kind in _OPERANDS:
            return "having"
        if text == "into" and len(tail) > 1 and tail[1].text in ("outfile", "dumpfile"):
            return "into-outfile"
        if text == "procedure" and len(tail) > 1 and tail[1].text == "analyse":
            return "procedure-analyse"
        if text in ("limit", "offset") and len(tail) > 1 and tail[1].kind == NUMBER and start > 0:
            return "limit"
        return None
    if first.kind == STATEMENT and _statement_follows(tail, 0) and start > 0:
        return "statement"
    return None


#: collations without an underscore in their names (the rest have one:
#: utf8mb4_general_ci, Latin1_General_CI_AS, en_US)
_PLAIN_COLLATIONS: Final = frozenset({"binary", "nocase", "rtrim", "c", "posix", "ucs_basic",
                                      "default", "unicode", "und"})  # fmt: skip


def _is_collation(after: list[Token]) -> bool:
    """Whether the token after COLLATE can name a collation."""
    if not after:
        return False
    token = after[0]
    if token.kind == STRING:
        return True
    return token.kind == BAREWORD and (
        "_" in token.text or "-" in token.text or token.text.lower() in _PLAIN_COLLATIONS
    )


#: comparisons that make a test of two literals
_COMPARISONS: Final = frozenset({"=", "==", "!=", "<>", "<", ">", "<=", ">=", "<=>", "like",
                                 "rlike", "regexp", "glob", "is", "sounds"})  # fmt: skip


def _literal_test(tokens: list[Token]) -> str | None:
    """'1' not regexp '2' / 'x'!='y / '{"a":1}' < '$.a' = 1 : a value that opens with a
    quoted literal compared with another literal is a boolean test in a numeric
    context (`WHERE id=<value>`); text quotes strings, it does not compare them."""
    k = 1
    if k < len(tokens) and tokens[k].text == "not":
        k += 1
    if k + 1 >= len(tokens) or tokens[k].kind != OPERATOR or tokens[k].text not in _COMPARISONS:
        return None
    if tokens[k + 1].kind not in (STRING, NUMBER):
        return None
    after = tokens[k + 2 : k + 3]
    if not after or after[0].kind in (COMMENT, SEMICOLON, LOGIC, OPERATOR):
        return "literal-test"
    return None


#: operators that make a complete test of the one operand before them
_POSTFIX: Final = frozenset({"notnull", "isnull"})

#: tokens of an expression that a trailing comment may close after a broken quote
_EXPRESSION: Final = frozenset(
    {
        BAREWORD,
        NUMBER,
        OPERATOR,
        LOGIC,
        VARIABLE,
        LPAREN,
        RPAREN,
        FUNCTION,
        COMMA,
        KEYWORD,
        STATEMENT,
    }
)


def _comment_terminated(tail: list[Token]) -> str | None:
    """x'-email-- / x' mod id-- / z' or email notnull-- / ' or (glob 1)--: a short
    expression after the broken quote, then a comment (or a stacked statement) that
    cuts the application's query off."""
    for index, token in enumerate(tail[1:10], 1):
        if token.kind == COMMENT:
            return "comment-terminated" if index > 1 else None
        if token.kind == SEMICOLON:
            after = tail[index + 1 : index + 2]
            if index > 1 and (not after or after[0].kind in (COMMENT, STATEMENT, BAREWORD)):
                return "comment-terminated"
            return None
        if token.kind not in _EXPRESSION:
            return None
    return None


def _judge(tokens: list[Token], quoted: bool) -> str | None:
    if not tokens:
        return None
    fp = fingerprint(tokens)
    if EVIL in fp[:6]:
        return None
    # a statement anywhere in the first tokens, introduced by UNION or ';'
    for idx in range(len(tokens) - 1):
        kind = tokens[idx].kind
        if (
            kind == UNION
            and any(t.kind == STATEMENT for t in tokens[idx + 1 : idx + 4])
            and (idx > 0 or tokens[idx + 1].kind in (STATEMENT, KEYWORD, LPAREN))
        ):
            return "union"
        if (
            kind == SEMICOLON
            and tokens[idx + 1].kind == STATEMENT
            and idx > 0
            and tokens[idx - 1].kind in (STRING, NUMBER, RPAREN, BAREWORD)
            and _statement_follows(tokens, idx + 1)
        ):
            return "stacked"
    if quoted:
        return _after_break(tokens, 1)
    first = tokens[0]
    if first.kind == NUMBER:
        if (
            len(tokens) == 3
            and tokens[1].text in ("=", "<=>", "==", "like", "is")
            and tokens[2].kind == NUMBER
            and tokens[2].text == first.text
        ):
            return "tautology"
        return _after_break(tokens, 1)
    if first.kind in (BAREWORD, VARIABLE) and len(tokens) > 1:
        # a bare column/word followed by a boolean test: id or 1=1
        reason = _after_break(tokens, 1)
        if reason in ("tautology", "logic-function", "logic-statement", "union", "stacked"):
            if len(tokens) > 3 and tokens[1].kind == LOGIC and tokens[3].kind == OPERATOR:
                return reason
            if reason != "tautology":
                return reason
        return None
    if first.kind == STATEMENT and _statement_follows(tokens, 0) and _evidence(tokens):
        # a whole statement is content (a query in a SQL console, a snippet) unless it
        # carries what only an attacker needs
        return "statement"
    if first.kind == LOGIC and first.text != "not" and len(tokens) > 2:
        # a fragment that starts with the boolean test: `AND 2771=1709)`, `|| c == '`
        k = 1
        while k < len(tokens) and tokens[k].kind == LPAREN:
            k += 1
        if (
            k + 1 < len(tokens)
            and tokens[k].kind in (NUMBER, STRING)
            and tokens[k + 1].kind == COMMENT
            and tokens[k + 1].text != "/**/"
        ):
            return "logic-lead"  # OR 1# : a constant test, then the rest cut off
        if (
            k + 1 < len(tokens)
            and tokens[k].kind in (BAREWORD, NUMBER, STRING, VARIABLE)
            and tokens[k + 1].kind == OPERATOR
            and tokens[k + 1].text not in ("-", "+", "/", "*", "in")
            and (
                k + 2 >= len(tokens) or tokens[k + 2].kind != BAREWORD or tokens[k].kind != BAREWORD
            )
        ):
            return "logic-lead"
        return None
    if first.kind == SEMICOLON and len(tokens) > 1 and tokens[1].kind == STATEMENT:
        return "stacked" if _statement_follows(tokens, 1) else None
    if first.kind == UNION and len(tokens) > 1 and tokens[1].kind == STATEMENT:
        return "union" if _statement_follows(tokens, 1) else None
    if (
        first.kind == OPERATOR
        and first.text in ("in", "like", "=", "exists")
        and len(tokens) > 2
        and tokens[1].kind == LPAREN
        and tokens[2].kind == STATEMENT
    ):
        return "subquery"
    if first.kind == FUNCTION and first.text in _ATTACK_FUNCTIONS:
        return _function_call(tokens)
    if first.kind == STRING:
        return _literal_test(tokens)
    if first.kind == LPAREN and len(tokens) > 1 and tokens[1].kind == STATEMENT:
        return "statement" if _statement_follows(tokens, 1) else None
    if first.kind == OPERATOR and first.text in ("-", "+") and len(tokens) > 1:
        return _after_break(tokens, 2) if tokens[1].kind == NUMBER else None
    if first.kind == RPAREN:
        return _after_break(tokens, 0) if len(tokens) > 2 else None
    return None


#: functions that only data theft and blind probing need
_EVIDENCE_FUNCTIONS: Final = frozenset(
    {"sleep", "benchmark", "pg_sleep", "load_file", "extractvalue", "updatexml", "waitfor",
     "xp_cmdshell", "name_const", "gtid_subset", "randomblob", "dbms_pipe.receive_message",
     "utl_inaddr.get_host_name", "sys_context", "version", "user", "database", "current_user",
     "system_user", "session_user", "schema_name", "db_name", "char", "chr", "concat",
     "group_concat", "hex", "unhex"}
)  # fmt: skip


def _evidence(tokens: list[Token]) -> bool:
    for index, token in enumerate(tokens):
        kind = token.kind
        if kind in (COMMENT, UNION):
            return True
        if kind == VARIABLE and token.text.startswith("@@"):
            return True
        if kind == FUNCTION and token.text in _EVIDENCE_FUNCTIONS:
            return True
        if kind == SEMICOLON and index + 1 < len(tokens) and tokens[index + 1].kind == STATEMENT:
            return True
        if kind == KEYWORD and token.text in ("outfile", "dumpfile"):
            return True
        if kind == BAREWORD and token.text.lower().startswith(
            ("information_schema", "sysobjects", "mysql.user", "pg_shadow", "sqlite_master")
        ):
            return True
    return False


def _function_call(tokens: list[Token]) -> str | None:
    # sleep(5) / benchmark(1000000,md5(1)) / extractvalue(1,concat(...))
    if len(tokens) < 3 or tokens[1].kind != LPAREN:
        return None
    name = tokens[0].text
    if name in ("sleep", "pg_sleep", "benchmark", "extractvalue", "updatexml", "load_file",
                "xp_cmdshell", "waitfor", "dbms_pipe.receive_message", "utl_inaddr.get_host_name",
                "name_const", "gtid_subset", "randomblob"):  # fmt: skip
        return "function"
    return None


class SqliMatch(NamedTuple):
    reason: str
    context: str
    fingerprint: str


def detect_sqli(value: str) -> SqliMatch | None:
    """Return why `value` reads as an SQL injection, or None."""
    found = _detect(value)
    if found is None:
        # `name=payload` that reached us undivided (an encoded `=` in a form)
        eq = value.find("=", 0, 48)
        if eq > 0 and value[:eq].replace("_", "").replace("-", "").isalnum():
            found = _detect(value[eq + 1 :])
    return found


def _detect(value: str) -> SqliMatch | None:
    for quote in ("", "'", '"'):
        if quote and quote not in value:
            continue
        tokens = tokenize(value, quote=quote)
        reason = _judge(tokens, bool(quote))
        if reason is not None:
            return SqliMatch(reason, quote or "as-is", fingerprint(tokens))
    return None
