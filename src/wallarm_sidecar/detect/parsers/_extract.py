"""`extract_points`: the one entry the detection engine calls."""

from __future__ import annotations

from collections.abc import Callable

from wallarm_sidecar.detect._model import AttackHit, InspectedRequest
from wallarm_sidecar.detect._points import AREA_QUERY_NAME, AREA_QUERY_VALUE, PointValue
from wallarm_sidecar.detect.parsers._decoders import latin1_to_text
from wallarm_sidecar.detect.parsers._limits import DEFAULT_LIMITS, ParserLimits, PointsExhausted
from wallarm_sidecar.detect.parsers._walker import Config, RawPoint, Walker

_last_config: tuple[frozenset[str], ParserLimits, Config] | None = None


def _config(disabled: frozenset[str], limits: ParserLimits) -> Config:
    # the engine passes the same objects on every call: an identity check is enough
    global _last_config
    last = _last_config
    if last is not None and last[0] is disabled and last[1] is limits:
        return last[2]
    config = Config(disabled, limits)
    _last_config = (disabled, limits, config)
    return config


def extract_points(
    request: InspectedRequest,
    *,
    disabled: frozenset[str] = frozenset(),
    limits: ParserLimits = DEFAULT_LIMITS,
) -> tuple[list[PointValue], list[AttackHit]]:
    """Every value of `request` at its named point, and hits for inputs refused.

    `disabled` names parsers to switch off (see `PARSER_NAMES`). The hits are
    `data_bomb` (decompression and entity bombs) and `overlimit_res` (nesting,
    point count or decoded size beyond `limits`); a refused input is not expanded.
    Never raises for any request.
    """
    points, hits = extract_raw_points(request, disabled=disabled, limits=limits)
    return [PointValue(point, value, area) for point, value, area in points], hits


def extract_raw_points(
    request: InspectedRequest,
    *,
    disabled: frozenset[str] = frozenset(),
    limits: ParserLimits = DEFAULT_LIMITS,
    body_proof: Callable[[bytes], bool] | None = None,
) -> tuple[list[RawPoint], list[AttackHit]]:
    """`extract_points` with the points as plain `(point, value, area)` tuples.

    The engine's entry: a tuple costs a fraction of a `PointValue`, and this runs
    for every point of every request. `body_proof` may prove a JSON body clean, which
    then yields no points at all (the engine's fast path; never for API discovery).
    """
    walker = Walker(_config(disabled, limits), body_proof)
    try:
        walk(walker, request)
    except PointsExhausted:
        pass
    except Exception:  # pragma: no cover - a parser bug must not take the request down
        # the property tests call `walk` directly, so such a bug fails them
        pass
    return walker.out, walker.hits


def walk(walker: Walker, request: InspectedRequest) -> None:
    """Fill `walker` with the points of `request`; raises `PointsExhausted` when full."""
    target = latin1_to_text(request.target)
    path, _, query = target.partition("?")
    if not path.startswith("/"):
        path = _origin_path(path)
    walker.path(path)
    if query:
        walker.pairs("get_param ", query, AREA_QUERY_NAME, AREA_QUERY_VALUE, 0)
    content_type, content_encoding = walker.headers(request)
    if not request.body:
        return
    if not content_encoding:
        walker.body("post", request.body, content_type, 0)
        return
    decoded = walker.encoded_body(request.body, content_encoding)
    if decoded is not None:
        prefix, body, understood = decoded
        walker.body(prefix, body, content_type if understood else "", 0)


def _origin_path(path: str) -> str:
    """The path of an absolute-form target (`http://host/p`); other forms as they are."""
    scheme, sep, rest = path.partition("://")
    if not sep or "/" in scheme:
        return path
    slash = rest.find("/")
    return "/" if slash < 0 else rest[slash:]
