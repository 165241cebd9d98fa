#!/usr/bin/env python3
"""Writes the grader's labelled test data (tests/grading/data/) from two public, MIT-licensed
repositories checked out as git snapshots (read with `git show`, nothing else is taken from them):

  openai/grade-school-math  GSM8K test set and grade_school_math/data/example_model_solutions.jsonl:
                            four GPT-3 solutions per test question, each with OpenAI's is_correct.
  tangzhy/RealCritic        data/mix_data/{gsm8k,math}/test.jsonl: real model responses (ten models,
                            0.5B-72B) to GSM8K and MATH-500 questions, labelled by the Qwen math
                            evaluator (previous_score).

  tools/grading/make-fixtures.py GSM8K_REPO_GIT_DIR REALCRITIC_REPO_GIT_DIR
Deterministic: the same snapshots give the same files."""
import json, subprocess, sys, os

gsm, rc = sys.argv[1], sys.argv[2]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "grading", "data")

def show(repo, path):
    txt = subprocess.run(["git", "--git-dir", repo, "show", "HEAD:" + path], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(l) for l in txt.splitlines() if l.strip()]

def write(name, rows):
    with open(os.path.join(out, name), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(name, len(rows), "lines,", sum(r["label"] for r in rows), "labelled correct")

# GSM8K: every 4th test question (330 of 1,319), its four model solutions, the reference from test.jsonl.
test = {r["question"]: r["answer"] for r in show(gsm, "grade_school_math/data/test.jsonl")}
rows = []
for i, r in enumerate(show(gsm, "grade_school_math/data/example_model_solutions.jsonl")):
    if i % 4: continue
    for model in ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"):
        s = r[model]
        rows.append({"response": s["solution"], "reference": test[r["question"]], "label": bool(s["is_correct"]),
                     "source": "openai/grade-school-math " + model})
write("gsm8k-openai-solutions.jsonl", rows)

rows = [{"response": r["reasoning"], "reference": r["answer"], "label": bool(r["previous_score"][0]),
         "source": "RealCritic " + r["model"]} for r in show(rc, "data/mix_data/gsm8k/test.jsonl")]
write("gsm8k-realcritic.jsonl", rows)

# MATH-500: the bare answer and the reference solution (with its \boxed{}) for each response.
rows = [{"response": r["reasoning"], "reference": r["answer"], "solution": r["solution"],
         "label": bool(r["previous_score"][0]), "source": "RealCritic " + r["model"]}
        for r in show(rc, "data/mix_data/math/test.jsonl")]
write("math-realcritic.jsonl", rows)
