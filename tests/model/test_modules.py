"""``SelfAttention`` under CPU bf16 autocast: training runs attention in float32 (its bf16 backward is
slower on CPUs), inference keeps bf16, and float32 runs are untouched."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnalm.model.modules import SelfAttention


def attention_inputs(attn: SelfAttention, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return [attn._split(p(x)) for p in (attn.q_proj, attn.k_proj, attn.v_proj)]


def test_training_in_bf16_on_cpu_computes_attention_in_float32():
    torch.manual_seed(0)
    attn = SelfAttention(32, 4, rotary=False).train()
    x = torch.randn(2, 7, 32, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = attn(x, None)
    q, k, v = attention_inputs(attn, x)
    want = F.scaled_dot_product_attention(q.float(), k.float(), v.float()).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = attn.out_proj(want.transpose(1, 2).reshape(2, 7, 32))
    assert torch.equal(out, expected)
    out.float().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_inference_keeps_bf16_attention_and_float32_is_untouched():
    torch.manual_seed(0)
    attn = SelfAttention(32, 4, rotary=False).eval()
    x = torch.randn(2, 7, 32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = attn(x, None)
        q, k, v = attention_inputs(attn, x)
        expected = attn.out_proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 7, 32))
    assert torch.equal(out, expected)
    out32, _ = attn(x, None)
    q, k, v = (attn._split(p(x)) for p in (attn.q_proj, attn.k_proj, attn.v_proj))
    assert torch.equal(out32, attn.out_proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 7, 32)))
