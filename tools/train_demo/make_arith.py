#!/usr/bin/env python3
"""Synthetic multi-step arithmetic word problems in GSM8K's style (question; worked steps, one per
line, with the calculation written out; a final line "#### N") for the reasoning demo
(resources/models/demo-math-lm, demo-math-rm).  Deterministic for a seed.

  tools/train_demo/make_arith.py OUT_DIR [TEST_STEPS]   # e.g. 2 or 2,3; writes arith-train.jsonl, arith-test.jsonl, arith-shift.jsonl

arith-train: 2-5 steps on two-digit numbers (sums, differences, products by 2-9; every value below
1,000), one question in seven with an irrelevant clause; training only.  arith-test: held out (no question of the training set), the same kind
with TEST_STEPS steps (a comma list, each question one of them; default 2).  arith-shift: the
GSM-Symbolic analogue: other numbers, one more step, and always an irrelevant clause."""
import json, random, sys, os

NAMES = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea", "Max", "Nia",
         "Omar", "Pia", "Raj", "Sam", "Tia", "Uma", "Vic", "Wes", "Yan", "Zoe"]
ITEMS = ["apples", "books", "coins", "eggs", "pens", "shells", "stamps", "cards", "marbles", "cookies",
         "stickers", "beads"]
OTHER = ["hats", "cups", "kites", "socks"]


def step(rng, name, item, x):
    """One operation on the current count x: (question sentence, solution line, new x)."""
    while True:
        op = rng.choice(["add", "add", "sub", "sub", "mul"])
        if op == "add" and x <= 900:
            b = rng.randint(10, 99)
            verb = rng.choice(["buys", "finds", "gets"])
            return (f"Then {name} {verb} {b} more.", f"After that {name} has {x} + {b} = {x + b} {item}.", x + b)
        if op == "sub" and x >= 20:
            b = rng.randint(10, min(x - 1, 99))
            verb = rng.choice(["gives away", "loses", "sells"])
            return (f"Then {name} {verb} {b}.", f"After that {name} has {x} - {b} = {x - b} {item}.", x - b)
        if op == "mul" and x * 2 <= 999:
            k = rng.randint(2, min(9, 999 // x))
            return (f"Then the number of {item} is multiplied by {k}.",
                    f"After that {name} has {k} * {x} = {k * x} {item}.", k * x)


def problem(rng, steps, start, distractor):
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    x = rng.randint(*start)
    q = [f"{name} has {x} {item}."]
    a = [f"{name} starts with {x} {item}."]
    if distractor:   # an irrelevant clause about someone else
        other = rng.choice([n for n in NAMES if n != name])
        q.append(f"{other} has {rng.randint(10, 99)} {rng.choice(OTHER)}.")
    for _ in range(steps):
        qs, line, x = step(rng, name, item, x)
        q.append(qs)
        a.append(line)
    q.append(f"How many {item} does {name} have now?")
    a.append(f"#### {x}")
    return {"question": " ".join(q), "answer": "\n".join(a)}


def main():
    out = sys.argv[1]
    test_steps = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "2").split(",")]
    rng = random.Random(20261207)
    train, seen = [], set()
    while len(train) < 8000:
        # One in seven has an irrelevant clause, so the form is not new to the LM; the shift set
        # has one in every question, and one more step.
        p = problem(rng, rng.choice([2, 3, 4, 5]), (10, 99), rng.random() < 1 / 7)
        if p["question"] not in seen:
            seen.add(p["question"])
            train.append(p)
    test = []
    while len(test) < 200:
        p = problem(rng, rng.choice(test_steps), (10, 99), False)
        if p["question"] not in seen:
            seen.add(p["question"])
            test.append(p)
    shift = []
    while len(shift) < 200:
        p = problem(rng, rng.choice(test_steps) + 1, (10, 99), True)
        if p["question"] not in seen:
            seen.add(p["question"])
            shift.append(p)
    for name, rows in (("arith-train.jsonl", train), ("arith-test.jsonl", test), ("arith-shift.jsonl", shift)):
        with open(os.path.join(out, name), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        print(name, len(rows))


main()
