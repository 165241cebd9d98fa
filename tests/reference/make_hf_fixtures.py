#!/usr/bin/env python3
"""Parity fixtures for Rudder's model runtime, computed by Hugging Face transformers.

Writes tests/reference/hf/<name>/: a tiny random-weight model saved with save_pretrained
(safetensors, fp32) and expected.safetensors holding
  input_ids [B, T] int64, attention_mask [B, T] int64 and either
  prelogits [B, T, hidden] + logits [B, T, vocab] (causal LMs: final-norm output and lm_head), or
  scores [B] (reward models, right-padded batch, scored at the last real token).
Causal LMs also get the same rows as ragged batches computed *with padding* by transformers:
  right_input_ids / right_attention_mask / right_logits (right-padded) and
  left_input_ids / left_attention_mask / left_logits (left-padded, position ids from the mask as
  generate() makes them); logits at padded positions are zero and never compared.
Every family's quirks are checked to matter: the generator rebuilds the model with each quirk
switched off (same weights) and fails unless the logits move by more than 100x the test's
tolerance (1e-4 relative), so a bug in that quirk could not pass.
--bf16 adds bf16_logits to each causal-LM fixture: transformers' own prefill of the unpadded rows
with the model cast to bfloat16, the yardstick for Rudder's bf16 error (`rudder-cli parity --dtype
bf16` prints both).  Runs with transformers 4.4x and 5.x: 5.x takes RoPE as `rope_parameters`
(per layer type for Gemma 3) and Gemma 3's layer types as `layer_types`; the configs are written
in the form the installed version takes, and Rudder reads both.
tests/model/test_model.cpp (hfParityFixtures) compares Rudder against every such directory
(max relative error 1e-4) and skips while none is committed.  Needs torch, transformers and
safetensors (pip install torch transformers safetensors); no network.  The set stays < 10 MB.

    python3 tests/reference/make_hf_fixtures.py [--out tests/reference/hf]
"""
import argparse
import os
import shutil

import torch
import transformers
from safetensors.torch import save_file

HIDDEN, LAYERS, VOCAB = 64, 2, 256
COMMON = dict(hidden_size=HIDDEN, intermediate_size=160, num_hidden_layers=LAYERS, num_attention_heads=4,
              num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=512, rms_norm_eps=1e-5,
              bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)


V5 = int(transformers.__version__.split(".")[0]) >= 5


def config(cls, **kw):
    """A config in the installed transformers' form (5.x: rope_parameters, layer_types)."""
    if V5:
        theta = kw.pop("rope_theta", 10000.0)
        scaling = kw.pop("rope_scaling", None) or {"rope_type": "default"}
        glob = {**scaling, "rope_theta": theta}
        if "rope_local_base_freq" in kw:   # Gemma 3: one RoPE per layer type
            local = kw.pop("rope_local_base_freq")
            kw["rope_parameters"] = {"full_attention": glob,
                                     "sliding_attention": {"rope_type": "default", "rope_theta": local}}
            pattern = kw.pop("sliding_window_pattern", 6)
            kw["layer_types"] = ["full_attention" if (i + 1) % pattern == 0 else "sliding_attention"
                                 for i in range(kw["num_hidden_layers"])]
        elif cls is not transformers.GPT2Config:
            kw["rope_parameters"] = glob
    return cls(**kw)


def switch_off(cfg_dict, change):
    """The config with one quirk switched off; 5.x keeps RoPE settings inside rope_parameters."""
    d = {**cfg_dict}
    rp = d.get("rope_parameters")
    for k, v in change.items():
        if rp is not None and k == "rope_scaling":      # scaling off, same base
            per_type = "full_attention" in rp
            g = rp["full_attention"] if per_type else rp
            plain = {"rope_type": "default", "rope_theta": g["rope_theta"]}
            d["rope_parameters"] = {**rp, "full_attention": plain} if per_type else plain
        elif rp is not None and k == "rope_local_base_freq":
            d["rope_parameters"] = {**rp, "sliding_attention": {"rope_type": "default", "rope_theta": v}}
        else:
            d[k] = v
        rp = d.get("rope_parameters")
    return d


def build(cls, cfg):
    """The model with eager attention (the reference path), in either major version."""
    try:
        return cls._from_config(cfg, attn_implementation="eager").eval().float()
    except (TypeError, ValueError, AttributeError):
        cfg._attn_implementation = "eager"
        return cls(cfg).eval().float()


def save(model, d):
    try:
        model.save_pretrained(d, safe_serialization=True)
    except TypeError:   # 5.x: safetensors is the only format, the argument is gone
        model.save_pretrained(d)


def randomize(model, gemma_norms=False):
    """transformers' init (std 0.02) makes tiny models nearly constant: widen it so mistakes show."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name or "ln_" in name):
                base = 0.0 if gemma_norms else 1.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            elif "wte" in name or "embed" in name or "lm_head" in name or "wpe" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def causal_models():
    T = transformers
    yield "llama", config(T.LlamaConfig, **COMMON), T.LlamaForCausalLM, False
    yield "llama3", config(T.LlamaConfig, **{**COMMON, "rope_theta": 500000.0, "rope_scaling": {
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16}}), T.LlamaForCausalLM, False
    yield "mistral", config(T.MistralConfig, **{**COMMON, "sliding_window": 5}), T.MistralForCausalLM, False
    yield "qwen2", config(T.Qwen2Config, **{**COMMON, "tie_word_embeddings": True}), T.Qwen2ForCausalLM, False
    if hasattr(T, "Qwen3Config"):
        yield "qwen3", config(T.Qwen3Config, **{**COMMON, "head_dim": 32}), T.Qwen3ForCausalLM, False
    yield "gpt2", T.GPT2Config(n_embd=HIDDEN, n_layer=LAYERS, n_head=4, n_positions=128, vocab_size=VOCAB,
                               bos_token_id=2, eos_token_id=2), T.GPT2LMHeadModel, False
    gemma = {**COMMON, "head_dim": 16, "query_pre_attn_scalar": 16, "sliding_window": 4,
             "hidden_activation": "gelu_pytorch_tanh", "tie_word_embeddings": True, "rms_norm_eps": 1e-6}
    # Attention soft-capping at Gemma 2's 50 barely touches a tiny model's scores (1.9e-5 relative):
    # a cap the scores actually reach, so the quirk is tested.
    yield "gemma2", config(T.Gemma2Config, **{**gemma, "attn_logit_softcapping": 2.0, "final_logit_softcapping": 30.0}), \
        T.Gemma2ForCausalLM, True
    if hasattr(T, "Gemma3TextConfig"):
        # A window of 8 (< 24 positions): long enough that the local RoPE base visibly matters.
        yield "gemma3", config(T.Gemma3TextConfig, **{**gemma, "sliding_window": 8, "sliding_window_pattern": 2, "rope_theta": 1e6,
                                               "rope_local_base_freq": 1e4,
                                               "rope_scaling": {"rope_type": "linear", "factor": 8.0}}), \
            T.Gemma3ForCausalLM, True


# Each family's quirks as config changes that switch them off (the weights stay the same).
QUIRKS = {
    "llama3": {"Llama 3.1 rope scaling": {"rope_scaling": None}},
    "mistral": {"sliding window": {"sliding_window": None}},
    "gemma2": {"attention soft-capping": {"attn_logit_softcapping": None},
               "final soft-capping": {"final_logit_softcapping": None},
               "sliding window": {"sliding_window": 4096}},
    "gemma3": {"sliding window": {"sliding_window": 4096},
               "local RoPE base": {"rope_local_base_freq": 1e6},
               "linear rope scaling": {"rope_scaling": None}},
}
SEQ_LEN = 24          # > every sliding window (4, 5, 8) and > llama3's original_max_position_embeddings (16)
RAGGED = [24, 13, 5]  # row lengths of the padded batches
TOL = 1e-4


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-6)).item()


def ids_batch(B, T, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, VOCAB, (B, T), generator=g)


def write_expected(path, tensors):
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(path, "expected.safetensors"))


def make_causal(out, bf16=False):
    for name, cfg, cls, gemma in causal_models():
        torch.manual_seed(0)
        model = build(cls, cfg)
        randomize(model, gemma)
        d = os.path.join(out, name)
        shutil.rmtree(d, ignore_errors=True)
        save(model, d)
        ids = ids_batch(2, SEQ_LEN, 7)
        mask = torch.ones_like(ids)
        with torch.no_grad():
            o = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        out_t = {"input_ids": ids, "attention_mask": mask,
                 "prelogits": o.hidden_states[-1].float(), "logits": o.logits.float()}
        if bf16:   # transformers' own bf16 error, the yardstick for Rudder's
            mb = build(cls, cfg)
            mb.load_state_dict(model.state_dict())
            with torch.no_grad():
                out_t["bf16_logits"] = mb.to(torch.bfloat16)(input_ids=ids, attention_mask=mask).logits.float()
            print(f"  {name}: transformers bf16 vs fp32: {rel(out_t['bf16_logits'], o.logits):.2e} relative")
        # The same ids as ragged rows, padded on the right and on the left, through HF's masked path.
        seqs = [ids_batch(1, n, 11 + i)[0].tolist() for i, n in enumerate(RAGGED)]
        rid, rmask = right_padded(seqs, 0)
        lid, lmask = left_padded(seqs, 0)
        with torch.no_grad():
            rl = model(input_ids=rid, attention_mask=rmask).logits * rmask.unsqueeze(-1)
            pos = (lmask.cumsum(1) - 1).clamp_min(0)
            ll = model(input_ids=lid, attention_mask=lmask, position_ids=pos).logits * lmask.unsqueeze(-1)
        # Padding must not change a row: HF's own padded outputs against the rows run alone.
        for i, sq in enumerate(seqs):
            with torch.no_grad():
                alone = model(input_ids=torch.tensor([sq])).logits[0]
            n = len(sq)
            assert rel(rl[i, :n], alone) < TOL and rel(ll[i, -n:], alone) < TOL, f"{name}: padding changed row {i}"
        out_t.update({"right_input_ids": rid, "right_attention_mask": rmask, "right_logits": rl.float(),
                      "left_input_ids": lid, "left_attention_mask": lmask, "left_logits": ll.float()})
        write_expected(d, out_t)
        # Each quirk must matter: switched off, the logits move by more than 100x the tolerance.
        for quirk, change in QUIRKS.get(name, {}).items():
            c2 = cls.config_class.from_dict(switch_off(cfg.to_dict(), change))
            m2 = build(cls, c2)
            m2.load_state_dict(model.state_dict())
            with torch.no_grad():
                moved = rel(m2(input_ids=ids, attention_mask=mask).logits, o.logits)
            print(f"  {name}: without {quirk}: logits move {moved:.2e} relative")
            if moved <= 100 * TOL:
                raise SystemExit(f"{name}: the fixture does not guard '{quirk}' ({moved:.2e} <= {100 * TOL:.0e})")
        print("wrote", d)


def right_padded(seqs, pad):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, mask


def left_padded(seqs, pad):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, T - len(s):] = torch.tensor(s)
        mask[i, T - len(s):] = 1
    return ids, mask


SEQS = [[3, 5, 9, 30, 2], [3, 7], [3, 40, 41, 42, 43, 44, 45, 2]]


def make_reward(out):
    T = transformers
    # HF sequence classifiers (score.weight): Llama (Skywork, Tülu RMs) and GPT-2 RMs.
    for name, cfg, cls in [
        ("rm-llama-score", config(T.LlamaConfig, **{**COMMON, "num_labels": 1}), T.LlamaForSequenceClassification),
        ("rm-gpt2-score", T.GPT2Config(n_embd=HIDDEN, n_layer=LAYERS, n_head=4, n_positions=128, vocab_size=VOCAB,
                                       bos_token_id=2, eos_token_id=2, pad_token_id=0, num_labels=1),
         T.GPT2ForSequenceClassification),
    ]:
        torch.manual_seed(0)
        model = build(cls, cfg)
        randomize(model)
        d = os.path.join(out, name)
        shutil.rmtree(d, ignore_errors=True)
        save(model, d)
        ids, mask = right_padded(SEQS, 0)
        with torch.no_grad():
            scores = model(input_ids=ids, attention_mask=mask).logits[:, 0]
        write_expected(d, {"input_ids": ids, "attention_mask": mask, "scores": scores.float()})
        print("wrote", d)

    # Heads outside transformers: UltraRM/Eurus-RM regression_head, trl/LLaMA-Factory value heads.
    cfg = config(T.LlamaConfig, **COMMON)
    for name, head in [("rm-llama-regression", "regression_head"), ("rm-llama-vhead", "v_head"),
                       ("rm-llama-vhead-mlp", "v_head_mlp")]:
        torch.manual_seed(0)
        backbone = build(T.LlamaModel, cfg)
        randomize(backbone)
        g = torch.Generator().manual_seed(99)
        tensors = {"model." + k: v.contiguous() for k, v in backbone.state_dict().items()}
        head_tensors = {}
        if head == "regression_head":
            layers = [("regression_head.weight", torch.randn(1, HIDDEN, generator=g) * 0.5, None)]
            tensors["regression_head.weight"] = layers[0][1]
        elif head == "v_head":
            layers = [("v_head.summary", torch.randn(1, HIDDEN, generator=g) * 0.5, torch.randn(1, generator=g))]
        else:
            layers = [("v_head.summary.0", torch.randn(16, HIDDEN, generator=g) * 0.5, torch.randn(16, generator=g)),
                      ("v_head.summary.2", torch.randn(1, 16, generator=g) * 0.5, torch.randn(1, generator=g))]
        if head != "regression_head":
            for n, w, b in layers:
                head_tensors[n + ".weight"] = w
                head_tensors[n + ".bias"] = b
        d = os.path.join(out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        c = backbone.config.to_dict()   # as the model saw it (eager attention)
        c["architectures"] = ["LlamaRewardModel" if head == "regression_head" else "LlamaForCausalLM"]
        with open(os.path.join(d, "config.json"), "w") as f:
            import json
            json.dump(c, f, indent=2)
        save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        if head_tensors:
            save_file(head_tensors, os.path.join(d, "value_head.safetensors"), metadata={"format": "pt"})
        ids, mask = right_padded(SEQS, 0)
        with torch.no_grad():
            h = backbone(input_ids=ids, attention_mask=mask).last_hidden_state
            last = mask.sum(1) - 1
            x = h[torch.arange(len(SEQS)), last]
            for i, (n, w, b) in enumerate(layers):
                x = x @ w.T + (b if b is not None else 0)
                if i + 1 < len(layers):
                    x = torch.relu(x)
        write_expected(d, {"input_ids": ids, "attention_mask": mask, "scores": x[:, 0].float()})
        print("wrote", d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "hf"))
    ap.add_argument("--bf16", action="store_true", help="also store transformers' bf16 prefill logits (bf16_logits)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_grad_enabled(False)
    make_causal(a.out, a.bf16)
    make_reward(a.out)
    print("transformers", transformers.__version__, "torch", torch.__version__)


if __name__ == "__main__":
    main()
