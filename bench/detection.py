"""Detection quality: our engine vs nginx + ModSecurity + OWASP CRS (paranoia level 1).

Every stage of the CRS regression corpus (go-ftw YAML, read in place; see
``_crs_corpus.py`` for how tests are classified and rebuilt) and every request of the
benign corpus (``tests/data/benign``) is

* framed the way our proxy frames it (httptools) and inspected by
  ``DetectionEngine().inspect``; a request the parser refuses is *blocked* (the proxy
  answers 400 before detection), as is one that never completes;
* replayed byte for byte to nginx + ModSecurity v3 + CRS at PL1 on loopback (Debian's
  packages; configs from ``bench/modsec/``: blocking on, anomaly threshold 5, audit
  log off, PUT/PATCH/DELETE allowed as for any REST API); *blocked* means it never
  reached the backend (403 from CRS, 400 from nginx or a body-parse rule, no answer).

A stage or request is attributed to one class only; the headline shares and the
"disputed" stages are defined in ``_crs_corpus.py``.

Run from the checkout::

    PYTHONPATH=src python bench/detection.py                 # table, ~20 s
    PYTHONPATH=src python bench/detection.py --no-modsec     # our engine only
    PYTHONPATH=src python bench/detection.py --show-misses sqli   # missed payloads
    PYTHONPATH=src python bench/detection.py --show-misses legitimate  # false positives
    PYTHONPATH=src python bench/detection.py --json bench/results/detection.json

The bars (DESIGN.md §11): at least 90 % of the headline attack tests detected, at most
0.5 % of the legitimate tests flagged, and ahead of ModSecurity on both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

if str(Path(__file__).resolve().parent) not in sys.path:  # imported from the tests
    sys.path.append(str(Path(__file__).resolve().parent))

import _benign_corpus as benign_corpus
import _crs_corpus as crs
import _modsec as modsec

DETECTION_BAR: Final = 0.90
FALSE_POSITIVE_BAR: Final = 0.005

BLOCKED_FRAMING: Final = "framing"  # 400 from the proxy's parser, before detection
BLOCKED_INCOMPLETE: Final = "incomplete"
BLOCKED_DETECTED: Final = "detected"


@dataclass(frozen=True, slots=True)
class EngineOutcome:
    """What our proxy + engine did with one raw request."""

    blocked: bool
    why: str  # one of BLOCKED_* when blocked, "" when passed, "error: ..." on a crash
    hits: tuple[tuple[str, str, str], ...] = ()  # (attack type, point, fragment)
    micros: float | None = None  # engine time; None when the engine did not run


def inspect_raw(engine: Any, raw: bytes) -> EngineOutcome:
    """Frame `raw` like the proxy, then inspect every complete request in it."""
    from wallarm_sidecar.detect import InspectedRequest

    framing = crs.frame(raw)
    if framing.outcome == crs.REJECTED:
        return EngineOutcome(True, BLOCKED_FRAMING)
    if framing.outcome == crs.INCOMPLETE:
        return EngineOutcome(True, BLOCKED_INCOMPLETE)
    hits: list[tuple[str, str, str]] = []
    elapsed = 0
    for request in framing.requests:
        inspected = InspectedRequest(
            method=request.method,
            target=request.target,
            headers=request.headers,
            body=request.body,
            client_ip="127.0.0.1",
        )
        started = time.perf_counter_ns()
        try:
            verdict = engine.inspect(inspected)
        except Exception as exc:  # a crash is a bug to report, not a verdict
            return EngineOutcome(False, f"error: {type(exc).__name__}: {exc}")
        elapsed += time.perf_counter_ns() - started
        hits.extend((h.attack_type, h.point, h.fragment) for h in verdict.hits)
    micros = elapsed / 1000
    if hits:
        return EngineOutcome(True, BLOCKED_DETECTED, tuple(hits), micros)
    return EngineOutcome(False, "", (), micros)


def run_engine(raws: Sequence[bytes]) -> list[EngineOutcome]:
    from wallarm_sidecar.detect import DetectionEngine

    engine = DetectionEngine()
    return [inspect_raw(engine, raw) for raw in raws]


def run_modsec(
    raws: Sequence[bytes], *, paranoia: int = 1
) -> tuple[list[modsec.ReplayResult], dict[str, set[int]], str]:
    with modsec.ModSecurityServer(paranoia=paranoia) as server, ThreadPoolExecutor(16) as pool:
        results = list(pool.map(server.replay, raws))
        return results, server.matched_rules(), server.describe()


# --- figures ---------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    total: int = 0
    ours: int = 0  # blocked by our engine
    theirs: int = 0  # blocked by ModSecurity

    def add(self, *, ours: bool, theirs: bool | None) -> None:
        self.total += 1
        self.ours += ours
        self.theirs += bool(theirs)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarize(
    cases: Sequence[crs.CrsCase],
    ours: Sequence[EngineOutcome],
    theirs: Sequence[modsec.ReplayResult] | None,
    *,
    benign: Sequence[benign_corpus.BenignRequest] = (),
    ours_benign: Sequence[EngineOutcome] = (),
    theirs_benign: Sequence[modsec.ReplayResult] | None = None,
) -> dict[str, Any]:
    """All figures of a run as plain data (what --json writes, what the table shows)."""
    attacks: dict[str, Tally] = defaultdict(Tally)
    legit: dict[str, Tally] = defaultdict(Tally)
    other: dict[str, Tally] = defaultdict(Tally)
    disputed: dict[str, Tally] = defaultdict(Tally)
    head_attack, head_legit = Tally(), Tally()
    for index, case in enumerate(cases):
        blocked = ours[index].blocked
        their = theirs[index].blocked if theirs is not None else None
        if crs.is_headline_attack(case):
            attacks[case.attack_class].add(ours=blocked, theirs=their)
            head_attack.add(ours=blocked, theirs=their)
        elif crs.is_headline_legitimate(case):
            legit[case.attack_class].add(ours=blocked, theirs=their)
            head_legit.add(ours=blocked, theirs=their)
        elif case.disputed:
            disputed[case.kind].add(ours=blocked, theirs=their)
        else:
            other[f"{case.group} {case.kind}"].add(ours=blocked, theirs=their)
    benign_tally = Tally()
    for index in range(len(benign)):
        their = theirs_benign[index].blocked if theirs_benign is not None else None
        benign_tally.add(ours=ours_benign[index].blocked, theirs=their)

    timings = [o.micros for o in [*ours, *ours_benign] if o.micros is not None]
    errors = sum(1 for o in [*ours, *ours_benign] if o.why.startswith("error"))

    def fig(t: Tally, *, attack: bool) -> dict[str, Any]:
        with_modsec = theirs is not None
        if attack:
            return {
                "tests": t.total,
                "ours_detected": share(t.ours, t.total),
                "modsec_detected": share(t.theirs, t.total) if with_modsec else None,
            }
        return {
            "tests": t.total,
            "ours_passed": share(t.total - t.ours, t.total),
            "modsec_passed": share(t.total - t.theirs, t.total) if with_modsec else None,
        }

    classes = sorted(set(attacks) | set(legit))
    headline_attack = fig(head_attack, attack=True)
    headline_legit = fig(head_legit, attack=False)
    ours_fp = 1 - (headline_legit["ours_passed"] or 0.0)
    bars = {
        "detected_at_least_90pct": (headline_attack["ours_detected"] or 0.0) >= DETECTION_BAR,
        "legitimate_flagged_at_most_0.5pct": ours_fp <= FALSE_POSITIVE_BAR,
    }
    if theirs is not None:
        bars["detection_ahead_of_modsec"] = (headline_attack["ours_detected"] or 0.0) > (
            headline_attack["modsec_detected"] or 0.0
        )
        bars["legitimate_ahead_of_modsec"] = (headline_legit["ours_passed"] or 0.0) >= (
            headline_legit["modsec_passed"] or 0.0
        )
    return {
        "headline_attack_classes": sorted(
            {f.attack_class for f in crs.FAMILIES.values() if f.group == crs.GROUP_ATTACK}
        ),
        "per_class": {
            name: {
                "attack": fig(attacks[name], attack=True),
                "legitimate": fig(legit[name], attack=False),
            }
            for name in classes
        },
        "attack": headline_attack,
        "legitimate": headline_legit,
        "disputed": {kind: fig(disputed[kind], attack=True) for kind in sorted(disputed)},
        "not_in_headline": {
            k: fig(v, attack=k.endswith("attack")) for k, v in sorted(other.items())
        },
        "benign_corpus": fig(benign_tally, attack=False),
        "engine_us_median": statistics.median(timings) if timings else None,
        "engine_us_p99": _percentile(timings, 0.99),
        "engine_us_max": max(timings) if timings else None,
        "engine_errors": errors,
        "bars": bars,
    }


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _pct(value: float | None) -> str:
    return "    -" if value is None else f"{100 * value:5.1f}"


def print_table(summary: dict[str, Any], *, out: Any = sys.stdout) -> None:
    w = out.write
    w("CRS regression corpus, by attack class (share of tests, %)\n")
    w(f"{'class':<18}{'attacks':>8}{'ours':>7}{'modsec':>8}   ")
    w(f"{'legit':>6}{'ours':>7}{'modsec':>8}\n")
    w(f"{'':<18}{'':>8}{'detect':>7}{'detect':>8}   {'':>6}{'pass':>7}{'pass':>8}\n")
    for name, row in summary["per_class"].items():
        a, lg = row["attack"], row["legitimate"]
        w(
            f"{name:<18}{a['tests']:>8}{_pct(a['ours_detected']):>7}{_pct(a['modsec_detected']):>8}"
            f"   {lg['tests']:>6}{_pct(lg['ours_passed']):>7}{_pct(lg['modsec_passed']):>8}\n"
        )
    a, lg = summary["attack"], summary["legitimate"]
    w(
        f"{'HEADLINE':<18}{a['tests']:>8}{_pct(a['ours_detected']):>7}{_pct(a['modsec_detected']):>8}"
        f"   {lg['tests']:>6}{_pct(lg['ours_passed']):>7}{_pct(lg['modsec_passed']):>8}\n"
    )
    w(
        "  headline attack classes: " + ", ".join(summary["headline_attack_classes"]) + "\n"
        "  legitimate: no-fire tests of all request families (incl. protocol/method/multipart)\n"
    )
    for kind, d in summary["disputed"].items():
        w(
            f"  disputed {kind} stages (see _crs_corpus.mark_disputed; in neither share): "
            f"{d['tests']}, blocked by ours {_pct(d['ours_detected']).strip()} %, "
            f"by modsec {_pct(d['modsec_detected']).strip()} %\n"
        )
    w("\nNot in the headline (blocked share for attack rows, passed share for legitimate rows)\n")
    for name, row in summary["not_in_headline"].items():
        ours = row.get("ours_detected", row.get("ours_passed"))
        theirs = row.get("modsec_detected", row.get("modsec_passed"))
        w(f"  {name:<24}{row['tests']:>6}  ours {_pct(ours)}  modsec {_pct(theirs)}\n")
    b = summary["benign_corpus"]
    w(
        f"\nBenign corpus (tests/data/benign): {b['tests']} requests, passed by ours "
        f"{_pct(b['ours_passed']).strip()} %, by modsec {_pct(b['modsec_passed']).strip()} %\n"
    )
    med, p99, top = (summary[k] for k in ("engine_us_median", "engine_us_p99", "engine_us_max"))
    if med is not None:
        w(f"Engine time per request: median {med:.1f} µs, p99 {p99:.1f} µs, max {top:.1f} µs\n")
    errors = summary["engine_errors"]
    w(f"Engine errors (crashes, counted as not blocked): {errors}\n")
    if errors:
        w("  see --show-misses all / legitimate / benign, or --json, for the messages\n")
    w("\nBars (DESIGN.md §11)\n")
    for name, ok in summary["bars"].items():
        w(f"  {'PASS' if ok else 'FAIL'}  {name}\n")


def show_misses(
    wanted: str,
    cases: Sequence[crs.CrsCase],
    ours: Sequence[EngineOutcome],
    benign: Sequence[benign_corpus.BenignRequest],
    ours_benign: Sequence[EngineOutcome],
    *,
    out: Any = sys.stdout,
) -> int:
    """Print the attacks of class `wanted` we missed, or, for ``legitimate`` / ``benign``,
    the legitimate requests we blocked. Returns how many were printed."""
    shown = 0
    if wanted == "benign":
        for request, outcome in zip(benign, ours_benign, strict=True):
            if outcome.blocked or outcome.why:
                shown += 1
                out.write(f"--- {request.source} [{outcome.why}] {request.note}\n")
                out.write(f"    hits: {list(outcome.hits)}\n")
                out.write(_excerpt(request.raw))
        return shown
    for case, outcome in zip(cases, ours, strict=True):
        if wanted == "legitimate":
            selected = crs.is_headline_legitimate(case) and (outcome.blocked or outcome.why)
        else:
            selected = (
                case.kind == crs.ATTACK
                and wanted in (case.attack_class, case.family, "all")
                and not outcome.blocked
            )
        if not selected:
            continue
        shown += 1
        desc = case.desc.splitlines()[0] if case.desc else ""
        out.write(f"--- {case.title} ({case.attack_class}) {desc} {outcome.why}\n")
        if outcome.hits:
            out.write(f"    hits: {list(outcome.hits)}\n")
        out.write(_excerpt(case.raw))
    return shown


def _excerpt(raw: bytes, limit: int = 600) -> str:
    text = raw[:limit].decode("utf-8", "backslashreplace")
    body = "\n".join("    " + line for line in text.split("\r\n"))
    return body + ("\n    ..." if len(raw) > limit else "") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=crs.default_corpus_dir(),
        help="CRS regression corpus directory (default: %(default)s)",
    )
    parser.add_argument(
        "--benign",
        type=Path,
        default=benign_corpus.DEFAULT_DIR,
        help="benign corpus directory (default: %(default)s)",
    )
    parser.add_argument("--no-modsec", action="store_true", help="skip the ModSecurity run")
    parser.add_argument("--paranoia", type=int, default=1, help="CRS paranoia level (1)")
    parser.add_argument("--json", type=Path, help="write figures and per-test results here")
    parser.add_argument(
        "--show-misses",
        metavar="CLASS",
        help="list missed attacks of CLASS (e.g. sqli, 942, all), or the "
        "blocked 'legitimate' CRS tests, or the blocked 'benign' requests",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a bar is missed")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        parser.error(f"no CRS regression corpus at {args.corpus} (see --corpus)")
    try:
        import wallarm_sidecar.detect  # noqa: F401
    except ImportError as exc:
        parser.error(f"cannot import the engine ({exc}); run with PYTHONPATH=src")

    started = time.monotonic()
    cases = crs.mark_disputed(crs.load_corpus(args.corpus))
    benign = benign_corpus.load_benign(args.benign) if args.benign.is_dir() else []
    raws = [case.raw for case in cases]
    benign_raws = [request.raw for request in benign]
    ours = run_engine(raws)
    ours_benign = run_engine(benign_raws)

    theirs = theirs_benign = None
    rules: dict[str, set[int]] = {}
    peer = "not run"
    if not args.no_modsec:
        try:
            replayed, rules, peer = run_modsec([*raws, *benign_raws], paranoia=args.paranoia)
        except modsec.ModSecurityUnavailable as exc:
            print(f"ModSecurity comparison skipped: {exc}", file=sys.stderr)
        else:
            theirs, theirs_benign = replayed[: len(raws)], replayed[len(raws) :]

    summary = summarize(
        cases, ours, theirs, benign=benign, ours_benign=ours_benign, theirs_benign=theirs_benign
    )
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["corpus"] = str(args.corpus)
    summary["modsec_peer"] = peer
    if theirs is not None and theirs_benign is not None:
        statuses = Counter(r.status for r in [*theirs, *theirs_benign] if r.blocked)
        summary["modsec_blocked_statuses"] = {str(k): v for k, v in sorted(statuses.items())}
    if args.show_misses:
        shown = show_misses(args.show_misses, cases, ours, benign, ours_benign)
        print(f"=== {shown} shown for {args.show_misses!r}\n")
    print_table(summary)
    print(f"\nModSecurity peer: {peer}; blocked = did not reach the backend")
    if "modsec_blocked_statuses" in summary:
        answers = ", ".join(f"{k} x{v}" for k, v in summary["modsec_blocked_statuses"].items())
        print(f"  its answers to blocked requests (0 = none): {answers}")
    print(f"{len(cases)} CRS stages, {len(benign)} benign requests, {summary['seconds']} s")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary["tests"] = [
            _case_record(case, ours[i], theirs[i] if theirs else None, rules)
            for i, case in enumerate(cases)
        ]
        summary["benign"] = [
            {
                "source": request.source,
                "ours_blocked": ours_benign[i].blocked,
                "ours_hits": ours_benign[i].hits,
                "modsec_status": theirs_benign[i].status if theirs_benign else None,
                "modsec_rules": sorted(rules.get(theirs_benign[i].request_id, ()))
                if theirs_benign
                else None,
            }
            for i, request in enumerate(benign)
        ]
        args.json.write_text(json.dumps(summary, indent=1, default=list), encoding="utf-8")
    if args.check and not all(summary["bars"].values()):
        return 1
    return 0


def _case_record(
    case: crs.CrsCase,
    ours: EngineOutcome,
    theirs: modsec.ReplayResult | None,
    rules: dict[str, set[int]],
) -> dict[str, Any]:
    return {
        "title": case.title,
        "family": case.family,
        "class": case.attack_class,
        "group": case.group,
        "kind": case.kind,
        "disputed": case.disputed,
        "headline": crs.is_headline_attack(case) or crs.is_headline_legitimate(case),
        "ours_blocked": ours.blocked,
        "ours_why": ours.why,
        "ours_hits": ours.hits,
        "modsec_blocked": theirs.blocked if theirs else None,
        "modsec_status": theirs.status if theirs else None,
        "modsec_rules": sorted(rules.get(theirs.request_id, ())) if theirs else None,
    }


if __name__ == "__main__":
    sys.exit(main())
