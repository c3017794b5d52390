"""Bounds on how far the input parsers expand one request, and the hits they raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: attack types of the hits the parsers raise for inputs they refuse to expand
ATTACK_DATA_BOMB: Final = "data_bomb"
ATTACK_OVERLIMIT: Final = "overlimit_res"

RULE_BOMB_ZLIB: Final = "parser-bomb-zlib"
RULE_OVERLIMIT_DEPTH: Final = "parser-overlimit-depth"
RULE_OVERLIMIT_POINTS: Final = "parser-overlimit-points"
RULE_OVERLIMIT_BYTES: Final = "parser-overlimit-bytes"


class PointsExhausted(Exception):
    """Raised inside the walk when `max_points` is reached; ends the extraction."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ParserLimits:
    """How much work the parsers may do for one request.

    `max_depth` counts every nesting step: a JSON container, an XML element, a
    decoding layer (percent, base64, htmljs, gzip, jwt). Exceeding it, or a
    decompression bound, is an `overlimit_res` / `data_bomb` hit and the input is
    not expanded. Reaching `max_points` stops the extraction with an
    `overlimit_res` hit. Layer counts bound repeated decoding of one value
    without a hit (the layers beyond are simply not tried).
    """

    max_depth: int = 32
    max_points: int = 2048
    #: total size of everything produced by decoders (percent, base64, gzip, ...)
    max_decoded_bytes: int = 8 * 1024 * 1024
    #: decompressed size of one compressed body or value
    max_decompressed_size: int = 2 * 1024 * 1024
    #: decompressed / compressed ratio, checked once the output exceeds
    #: `ratio_floor` bytes (small inputs legitimately compress very well)
    max_decompression_ratio: int = 200
    ratio_floor: int = 64 * 1024
    max_percent_layers: int = 4
    max_base64_layers: int = 3
    #: shortest value (in characters) the base64 auto-detection looks at
    min_base64_length: int = 12
    #: values longer than this are not decoded at all
    max_decode_input: int = 1024 * 1024
    #: `%uXXXX`, HTML entities and JS escapes decoded per request (each one is a
    #: Python call); escapes beyond stay as they are, without a hit
    max_escapes: int = 10_000

    def __post_init__(self) -> None:
        for name in self.__slots__:
            if getattr(self, name) < 1:
                raise ValueError(f"ParserLimits.{name} must be positive")

    def decompression_cap(self, compressed_size: int) -> int:
        """Largest output allowed for `compressed_size` input bytes."""
        by_ratio = max(compressed_size * self.max_decompression_ratio, self.ratio_floor)
        return min(self.max_decompressed_size, by_ratio)


DEFAULT_LIMITS: Final = ParserLimits()
