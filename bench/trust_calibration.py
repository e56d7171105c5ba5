"""How well the client's trust tracks skill: the team's scripts against every persona.

For each variant of the trust model (app.client.state.TrustModel) this plays every good, poor
and mixed script against every persona through the real turn step and prints: final-trust
AUROC good vs poor at equal turn counts, after 5 and after 3 turns; good sessions pinned at 10
(before turn 15, and at all); personas whose deepest layer a good script reaches; poor scripts
that reach it; verbatim repeats. Prints figures; not a test.

Usage: .venv/bin/python bench/trust_calibration.py [--grid] [--personas ID ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Sequence

from app.client import state as client_state
from app.client.selftest import ScriptCounsellor, auroc, load_scripts
from app.client.turn import run_session
from app.config import Settings
from app.persona import Persona, load_library


def measure(personas: Sequence[Persona], model: client_state.TrustModel) -> dict[str, float]:
    """Play every script against every persona with one trust model; return the figures."""
    saved = client_state.TRUST
    client_state.TRUST = model
    try:
        scripts = load_scripts()
        rows = []
        for persona in personas:
            for script in scripts:
                counsellor = ScriptCounsellor(script, persona, seed=7)
                session = run_session(persona, counsellor, turns=25, seed=7)
                rows.append((persona, script, session))
    finally:
        client_state.TRUST = saved

    def at(turn: int, quality: str) -> list[float]:
        return [s.trust[turn - 1] for _, sc, s in rows if sc.quality == quality]

    good = [(p, s) for p, sc, s in rows if sc.quality == "good"]
    poor = [(p, s) for p, sc, s in rows if sc.quality == "poor"]
    deepest_good = {p.id for p, s in good if p.disclosures[-1].id in s.disclosed}
    replies = [r for _, _, s in rows for r in s.replies]
    repeats = sum(
        len(s.replies) - len({r.strip().lower() for r in s.replies}) for _, _, s in rows
    )
    return {
        "auroc_25": auroc(at(25, "good"), at(25, "poor")),
        "auroc_5": auroc(at(5, "good"), at(5, "poor")),
        "auroc_3": auroc(at(3, "good"), at(3, "poor")),
        "good_mean": statistics.mean(at(25, "good")),
        "mixed_mean": statistics.mean(at(25, "mixed")),
        "poor_mean": statistics.mean(at(25, "poor")),
        "pinned_early": sum(any(t >= 10 for t in s.trust[:14]) for _, s in good) / len(good),
        "pinned": sum(s.trust[-1] >= 10 for _, s in good) / len(good),
        "deepest": len(deepest_good) / len(personas),
        "poor_deepest": sum(p.disclosures[-1].id in s.disclosed for p, s in poor),
        "repeats": repeats / max(len(replies), 1),
    }


def _line(name: str, figures: dict[str, float]) -> str:
    return (
        f"{name:<34} AUROC 25/5/3 turns {figures['auroc_25']:.3f}/{figures['auroc_5']:.3f}/"
        f"{figures['auroc_3']:.3f}  final good/mixed/poor {figures['good_mean']:.1f}/"
        f"{figures['mixed_mean']:.1f}/{figures['poor_mean']:.1f}  pinned<15 "
        f"{figures['pinned_early']:.0%} pinned@25 {figures['pinned']:.0%}  deepest "
        f"{figures['deepest']:.0%} poor-deepest {figures['poor_deepest']:.0f}  repeats "
        f"{figures['repeats']:.2%}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures for the shipped trust model (and, with --grid, for variants)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also try variants of the model")
    parser.add_argument("--personas", nargs="*", help="persona ids (default: all)")
    args = parser.parse_args(argv)
    library = load_library(Settings().personas_dir)
    personas = [library[i] for i in args.personas] if args.personas else list(library.values())
    base = client_state.TRUST
    variants = {"shipped": base}
    if args.grid:
        for headroom in (11.0, 14.0, 18.0):
            for excellence in (7.0, 8.0):
                for combo in (0.3, 0.5):
                    variants[f"headroom={headroom} excel={excellence} combo={combo}"] = (
                        dataclasses.replace(base, headroom=headroom, excellence_at=excellence,
                                            combo=combo)
                    )
    for name, model in variants.items():
        started = time.perf_counter()
        figures = measure(personas, model)
        print(_line(name, figures) + f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
