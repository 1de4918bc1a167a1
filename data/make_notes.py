"""Write data/sample/notes.jsonl: short notes on six topics, with planted paraphrases (the embedding-space
recipe's sample, recipes/space.recipe). Standard library only, deterministic: the same bytes on every run.

Each base note is two sentences of its topic, each naming a person, a place, a thing and a time. A paraphrase
says the same two things in other words: each sentence in the passive voice with the time first, so it shares
almost no word 5-gram with its original (MinHash does not see it) while a sentence
embedding finds it close. An exact copy is a
control that both dedups catch. data/SOURCES.md describes the file.

    .venv/bin/python data/make_notes.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20261207
OUT = Path(__file__).parent / "sample" / "notes.jsonl"

PEOPLE = ["Maria Lopez", "Kenji Sato", "Amara Okafor", "Lars Nilsson", "Priya Raman", "Tomasz Kowalski",
          "Fatima Haddad", "Diego Herrera", "Ingrid Berg", "Chen Wei", "Olu Adeyemi", "Sofia Rossi", "Yusuf Demir",
          "Hannah Weber", "Ravi Kapoor", "Elena Petrova", "Mateo Silva", "Aiko Tanaka", "Noah Fischer",
          "Leila Karimi", "Jonas Becker", "Ana Costa", "Samuel Mensah", "Clara Dubois"]
PLACES = ["Tenerife", "Reykjavik", "Valparaiso", "Kyoto", "Nairobi", "Tromso", "Lisbon", "Oaxaca", "Hobart",
          "Tbilisi", "Dakar", "Quebec", "Tallinn", "Cusco", "Da Nang", "Bergen", "Marrakesh", "Galway"]
# topic -> (verbs as (active, passive participle), things)
TOPICS = {
    "astronomy": ([("photographed", "photographed"), ("tracked", "tracked"), ("catalogued", "catalogued")],
                  ["a bright comet", "a spiral galaxy", "a variable star", "a meteor shower", "a lunar crater",
                   "an asteroid", "a planetary nebula", "the rings of Saturn"]),
    "cooking": ([("roasted", "roasted"), ("seasoned", "seasoned"), ("baked", "baked")],
                ["a lamb shoulder", "a sourdough loaf", "a tray of root vegetables", "a whole salmon",
                 "an apple tart", "a pot of lentils", "a saffron risotto", "a batch of dumplings"]),
    "gardening": ([("pruned", "pruned"), ("planted", "planted"), ("watered", "watered")],
                  ["the apple trees", "a row of tomato seedlings", "the rose bushes", "a bed of herbs",
                   "the grape vines", "a hedge of box", "the potato patch", "a line of sunflowers"]),
    "networking": ([("configured", "configured"), ("monitored", "monitored"), ("patched", "patched")],
                   ["the core router", "a firewall cluster", "the load balancer", "a DNS resolver",
                    "the VPN gateway", "a mail relay", "the backup link", "a wireless controller"]),
    "football": ([("scored", "scored"), ("saved", "saved"), ("took", "taken")],
                 ["a penalty", "a free kick", "a header from a corner", "a long-range volley", "a late equaliser",
                  "a deflected shot", "a diving header", "a chipped finish"]),
    "finance": ([("bought", "bought"), ("sold", "sold"), ("hedged", "hedged")],
                ["a block of government bonds", "shares in a chip maker", "a euro currency position",
                 "a stake in a utility", "gold futures", "a portfolio of mortgages", "shares in an airline",
                 "a basket of emerging market debt"]),
}
TIMES = ["on Monday", "last winter", "in early spring", "two weeks ago", "during the holidays", "at the weekend",
         "in late autumn", "on a rainy Thursday"]


def sentence(rng: random.Random, topic: str) -> tuple[str, str]:
    """One fact of the topic: in the active voice, and reworded (the passive voice, the time first)."""
    verbs, things = TOPICS[topic]
    person, place, (active, passive), thing, when = (rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(verbs),
                                                     rng.choice(things), rng.choice(TIMES))
    plain = f"{person} {active} {thing} in {place} {when}."
    reworded = f"{when.capitalize()}, {thing} was {passive} by {person} while in {place}."
    return plain, reworded


def main() -> None:
    rng = random.Random(SEED)
    rows = []
    for topic in TOPICS:
        for n in range(1, 31):
            facts = [sentence(rng, topic) for _ in range(2)]
            rows.append({"id": f"{topic}/{n:02d}", "text": " ".join(p for p, _ in facts), "topic": topic,
                         "kind": "note"})
            if n <= 5:  # a paraphrase: the facts reworded
                rows.append({"id": f"{topic}/{n:02d}-paraphrase", "text": " ".join(r for _, r in facts),
                             "topic": topic, "kind": f"paraphrase of {topic}/{n:02d}"})
            elif n <= 7:  # an exact copy, which MinHash and SemDeDup both remove
                rows.append({"id": f"{topic}/{n:02d}-copy", "text": rows[-1]["text"], "topic": topic,
                             "kind": f"copy of {topic}/{n:02d}"})
    rows.sort(key=lambda r: r["id"])
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
