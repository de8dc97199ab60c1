"""ProtRNA's RotaFormer structure head: every block against a direct NumPy implementation of its
equations, and strict loading of a ``.h5`` written in the layout ``SSPredictionModel.save_weights``
produces (names and shapes from ProtRNA's ``downstream_ss`` code, small sizes).

The NumPy side reads weights by their *Keras* names and layouts (Dense kernels ``(in, out)``, conv
kernel ``(H, W, in, out)``), so the whole-head comparison also checks the converter's mapping.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

h5py = pytest.importorskip("h5py")

from rnalm.errors import CheckpointError  # noqa: E402
from rnalm.models.protrna.ss_convert import load_ss_head  # noqa: E402
from rnalm.models.protrna.ss_head import (  # noqa: E402
    Embedding,
    EvoformerIteration,
    HeadConfig,
    OuterProductMean,
    RotaFormerHead,
    RowAttentionWithPairBias,
    Transition,
    TriangleAttention,
    TriangleMultiplication,
)

TOL = 1e-5
SMALL = HeadConfig(
    input_dim=12,
    msa_dim=8,
    pair_dim=6,
    max_relative_distance=3,
    msa_heads=2,
    msa_head_dim=3,
    pair_heads=3,
    pair_head_dim=2,
    outer_dim=4,
    transition_factor=2,
    num_ensembles=2,
    iterations_per_ensemble=2,
    kernel_size=5,
)


# ----------------------------------------------------------------------------- Keras layout
def _ln(p, d):
    return {f"{p}/scale": (d,), f"{p}/offset": (d,)}


def _dense(p, i, o):
    return {f"{p}/weights": (i, o), f"{p}/bias": (o,)}


def _attention(p, d, h, c):
    w = {f"{p}/{n}": (d, h, c) for n in ("query_w", "key_w", "value_w", "gating_w")}
    return w | {f"{p}/gating_b": (h, c), f"{p}/output_w": (h, c, d), f"{p}/output_b": (d,)}


def _transition(p, d, f):
    return _ln(f"{p}/input_layer_norm", d) | _dense(f"{p}/transition1", d, f * d) | _dense(f"{p}/transition2", f * d, d)


def iteration_spec(c: HeadConfig) -> dict[str, tuple]:
    """Variables of one ``EvoFormer.Evoformer`` tf.Module, path below ``evoformer_iteration_K``."""
    m, z = c.msa_dim, c.pair_dim
    row = "msa_row_attention_with_pair_bias"
    spec = _ln(f"{row}/query_norm", m) | _ln(f"{row}/feat_2d_norm", z) | {f"{row}/feat_2d_weights": (z, c.msa_heads)}
    spec |= _attention(f"{row}/attention", m, c.msa_heads, c.msa_head_dim)
    opm = "outer_product_mean"
    spec |= _ln(f"{opm}/layer_norm_input", m) | _dense(f"{opm}/left_projection", m, c.outer_dim)
    spec |= _dense(f"{opm}/right_projection", m, c.outer_dim)
    spec |= {f"{opm}/output_w": (c.outer_dim, c.outer_dim, z), f"{opm}/output_b": (z,)}
    spec |= _transition("msa_transition", m, c.transition_factor) | _transition(
        "pair_transition", z, c.transition_factor
    )
    for d in ("outgoing", "incoming"):
        p = f"triangle_multiplication_{d}"
        spec |= _ln(f"{p}/layer_norm_input", z) | _ln(f"{p}/center_layer_norm", z)
        for n in (
            "left_projection",
            "right_projection",
            "left_gate",
            "right_gate",
            "output_projection",
            "gating_linear",
        ):
            spec |= _dense(f"{p}/{n}", z, z)
    for n in ("starting", "ending"):
        p = f"triangle_attention_{n}_node"
        spec |= _ln(f"{p}/query_norm", z) | {f"{p}/feat_2d_weights": (z, c.pair_heads)}
        spec |= _attention(f"{p}/attention", z, c.pair_heads, c.pair_head_dim)
    return spec


def embedding_spec(c: HeadConfig) -> dict[str, tuple]:
    r = 2 * c.max_relative_distance + 1
    return (
        _dense("preprocess_1d", c.input_dim, c.msa_dim)
        | _dense("left_single", c.input_dim, c.pair_dim)
        | _dense("right_single", c.input_dim, c.pair_dim)
        | _dense("pair_activiations", r, c.pair_dim)
    )


def random_weights(spec: dict[str, tuple], rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for name, shape in spec.items():
        if name.endswith(("/scale", "/gating_b")):
            base = 1.0
        else:
            base = 0.0
        scale = 1.0 / np.sqrt(shape[0]) if len(shape) > 1 else 0.3
        out[name] = (base + scale * rng.standard_normal(shape)).astype(np.float32)
    return out


def fill(module: torch.nn.Module, w: dict[str, np.ndarray]) -> None:
    """Load Keras-named weights into a torch block (test-side mapping, checked complete)."""
    state = {}
    for name, value in w.items():
        *path, leaf = name.split("/")
        owner = module.get_submodule(".".join(path)) if path else module
        if isinstance(owner, torch.nn.Linear) and leaf == "weights":
            value = value.T
        leaf = {"weights": "weight", "scale": "weight", "offset": "bias"}.get(leaf, leaf)
        state[".".join([*path, leaf])] = torch.from_numpy(np.ascontiguousarray(value))
    module.load_state_dict(state, strict=True)


def keras_file(path, c: HeadConfig, seed=0, scope="", counters=(0, 0), shuffle=False, edit=None):
    """Write the head as tf.keras 2 ``save_weights`` does; returns ``{layer: {variable path: value}}``."""
    rng = np.random.default_rng(seed)
    conv = "conv2d" + (f"_{counters[0]}" if counters[0] else "")
    emb = "aa_embedding" + (f"_{counters[1]}" if counters[1] else "")
    k = c.kernel_size
    groups = {
        conv: {
            f"{scope}{conv}/kernel:0": (0.2 * rng.standard_normal((k, k, c.pair_dim, 1))).astype(np.float32),
            f"{scope}{conv}/bias:0": rng.standard_normal(1).astype(np.float32),
        },
        emb: {f"{n}:0": v for n, v in random_weights(embedding_spec(c), rng).items()},
    }
    for e in range(c.num_ensembles):
        g = {}
        for j in range(c.iterations_per_ensemble):
            it = e * c.iterations_per_ensemble + j
            for n, v in random_weights(iteration_spec(c), rng).items():
                g[f"evoformer_iteration_{it}/{n}:0"] = v
        groups[f"evoformer_ensemble_{e}"] = g
    if edit is not None:
        edit(groups)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.asarray([n.encode() for n in groups])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.14.0"
        for name, weights in groups.items():
            g = f.create_group(name)
            names = list(weights)
            if shuffle:
                random.Random(seed).shuffle(names)
            g.attrs["weight_names"] = np.asarray([n.encode() for n in names])
            for n in names:
                g.create_dataset(n, data=weights[n])
        f.create_group("top_level_model_weights").attrs["weight_names"] = np.asarray([])
    return groups


# ----------------------------------------------------------------------------- NumPy equations
def np_ln(x, w, p):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w[f"{p}/scale"] + w[f"{p}/offset"]


def np_dense(x, w, p):
    return x @ w[f"{p}/weights"] + w[f"{p}/bias"]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_attention(x, bias, w, p):
    """Per row b of x (B, Q, D): softmax(q k^T / sqrt(c) + bias_h) v, gated, projected; heads by loop."""
    heads, c = w[f"{p}/query_w"].shape[1:]
    out = np.zeros(x.shape[:2] + (w[f"{p}/output_b"].shape[0],))
    for b in range(x.shape[0]):
        for h in range(heads):
            q = x[b] @ w[f"{p}/query_w"][:, h] / np.sqrt(c)
            k = x[b] @ w[f"{p}/key_w"][:, h]
            v = x[b] @ w[f"{p}/value_w"][:, h]
            s = q @ k.T + bias[h]
            a = np.exp(s - s.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            g = sigmoid(x[b] @ w[f"{p}/gating_w"][:, h] + w[f"{p}/gating_b"][h])
            out[b] += ((a @ v) * g) @ w[f"{p}/output_w"][h]
    return out + w[f"{p}/output_b"]


def np_row_attention(m, z, w, p="msa_row_attention_with_pair_bias"):
    zn = np_ln(z, w, f"{p}/feat_2d_norm")
    bias = np.moveaxis(zn @ w[f"{p}/feat_2d_weights"], -1, 0)  # (h, q, k)
    return np_attention(np_ln(m, w, f"{p}/query_norm"), bias, w, f"{p}/attention")


def np_triangle_attention(z, w, ending):
    p = f"triangle_attention_{'ending' if ending else 'starting'}_node"
    if ending:
        z = z.transpose(1, 0, 2)
    zn = np_ln(z, w, f"{p}/query_norm")
    out = np_attention(zn, np.moveaxis(zn @ w[f"{p}/feat_2d_weights"], -1, 0), w, f"{p}/attention")
    return out.transpose(1, 0, 2) if ending else out


def np_triangle_multiplication(z, w, outgoing):
    p = f"triangle_multiplication_{'outgoing' if outgoing else 'incoming'}"
    zn = np_ln(z, w, f"{p}/layer_norm_input")
    a = np_dense(zn, w, f"{p}/left_projection") * sigmoid(np_dense(zn, w, f"{p}/left_gate"))
    b = np_dense(zn, w, f"{p}/right_projection") * sigmoid(np_dense(zn, w, f"{p}/right_gate"))
    L, C = z.shape[0], a.shape[-1]
    t = np.zeros((L, L, C))
    for i in range(L):
        for j in range(L):
            # outgoing: edges i->k and j->k; incoming: k->j and k->i
            t[i, j] = (a[i] * b[j]).sum(0) if outgoing else (a[:, j] * b[:, i]).sum(0)
    out = np_dense(np_ln(t, w, f"{p}/center_layer_norm"), w, f"{p}/output_projection")
    return out * sigmoid(np_dense(zn, w, f"{p}/gating_linear"))


def np_outer_product_mean(m, w, p="outer_product_mean"):
    mn = np_ln(m, w, f"{p}/layer_norm_input")
    a, b = np_dense(mn, w, f"{p}/left_projection"), np_dense(mn, w, f"{p}/right_projection")
    S, L = m.shape[:2]
    out = np.zeros((L, L, w[f"{p}/output_b"].shape[0]))
    for i in range(L):
        for j in range(L):
            outer = sum(np.outer(a[s, i], b[s, j]) for s in range(S))
            out[i, j] = np.tensordot(outer, w[f"{p}/output_w"], axes=2)
    return (out + w[f"{p}/output_b"]) / (S + 1e-3)


def np_transition(x, w, p):
    h = np.maximum(np_dense(np_ln(x, w, f"{p}/input_layer_norm"), w, f"{p}/transition1"), 0.0)
    return np_dense(h, w, f"{p}/transition2")


def np_iteration(m, z, w):
    m = m + np_row_attention(m, z, w)
    m = m + np_transition(m, w, "msa_transition")
    z = z + np_outer_product_mean(m, w)
    z = z + np_triangle_multiplication(z, w, True)
    z = z + np_triangle_multiplication(z, w, False)
    z = z + np_triangle_attention(z, w, False)
    z = z + np_triangle_attention(z, w, True)
    z = z + np_transition(z, w, "pair_transition")
    return m, z


def np_embedding(x, w, max_rel):
    L = x.shape[0]
    onehot = np.zeros((L, L, 2 * max_rel + 1))
    for i in range(L):
        for j in range(L):
            onehot[i, j, min(max(i - j, -max_rel), max_rel) + max_rel] = 1.0
    z = np_dense(x, w, "left_single")[:, None] + np_dense(x, w, "right_single")[None]
    z = z + np_dense(onehot, w, "pair_activiations")
    return np_dense(x, w, "preprocess_1d")[None], z


def np_conv_sym(z, kernel, bias):
    L, k = z.shape[0], kernel.shape[0]
    r = k // 2
    zp = np.pad(z, ((r, r), (r, r), (0, 0)))
    out = np.full((L, L), float(bias[0]))
    for i in range(L):
        for j in range(L):
            out[i, j] += np.sum(zp[i : i + k, j : j + k, :] * kernel[:, :, :, 0])
    return 0.5 * (out + out.T)


def np_head(x, groups, c: HeadConfig):
    conv = next(g for n, g in groups.items() if n.startswith("conv2d"))
    emb = next(g for n, g in groups.items() if n.startswith("aa_embedding"))
    kernel = next(v for n, v in conv.items() if n.endswith("kernel:0"))
    bias = next(v for n, v in conv.items() if n.endswith("bias:0"))
    w64 = {n.split(":")[0]: v.astype(np.float64) for n, v in emb.items()}  # embedding names have no scope
    m, z = np_embedding(x, w64, c.max_relative_distance)
    for it in range(c.num_iterations):
        g = groups[f"evoformer_ensemble_{it // c.iterations_per_ensemble}"]
        prefix = f"evoformer_iteration_{it}/"
        w = {n[len(prefix) :].split(":")[0]: v.astype(np.float64) for n, v in g.items() if n.startswith(prefix)}
        m, z = np_iteration(m, z, w)
    return np_conv_sym(z, kernel.astype(np.float64), bias.astype(np.float64))


# ----------------------------------------------------------------------------- block tests
MAX_DIFFS: dict[str, float] = {}


def _check(name, got: torch.Tensor, want: np.ndarray) -> None:
    diff = float(np.abs(got.detach().numpy().astype(np.float64) - want).max())
    MAX_DIFFS[name] = max(diff, MAX_DIFFS.get(name, 0.0))
    assert diff <= TOL, (name, diff)


def _block_weights(prefix: str, seed: int = 1) -> dict[str, np.ndarray]:
    spec = {n[len(prefix) + 1 :]: s for n, s in iteration_spec(SMALL).items() if n.startswith(prefix + "/")}
    return random_weights(spec, np.random.default_rng(seed))


def _inputs(L=7, S=1, seed=2):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((S, L, SMALL.msa_dim)).astype(np.float32)
    z = rng.standard_normal((L, L, SMALL.pair_dim)).astype(np.float32)
    return m, z


def _f64(w):
    return {k: v.astype(np.float64) for k, v in w.items()}


@pytest.mark.parametrize("L", [1, 6])
def test_row_attention_with_pair_bias(L):
    w = _block_weights("msa_row_attention_with_pair_bias")
    block = RowAttentionWithPairBias(SMALL)
    fill(block, w)
    m, z = _inputs(L)
    want = np_row_attention(
        m.astype(np.float64), z.astype(np.float64), _prefixed(w, "msa_row_attention_with_pair_bias")
    )
    _check("row attention", block(torch.from_numpy(m), torch.from_numpy(z)), want)


def _prefixed(w, p):
    return {f"{p}/{k}": v.astype(np.float64) for k, v in w.items()}


@pytest.mark.parametrize("ending", [False, True])
def test_triangle_attention(ending):
    p = f"triangle_attention_{'ending' if ending else 'starting'}_node"
    w = _block_weights(p)
    block = TriangleAttention(SMALL, per_column=ending)
    fill(block, w)
    _, z = _inputs(6)
    want = np_triangle_attention(z.astype(np.float64), _prefixed(w, p), ending)
    _check("triangle attention", block(torch.from_numpy(z)), want)
    # row chunking changes nothing
    chunked = block.attention(block.query_norm(torch.from_numpy(z)), torch.zeros(SMALL.pair_heads, 6, 6), chunk=2)
    whole = block.attention(block.query_norm(torch.from_numpy(z)), torch.zeros(SMALL.pair_heads, 6, 6), chunk=64)
    assert torch.equal(chunked, whole)


@pytest.mark.parametrize("outgoing", [True, False])
def test_triangle_multiplication(outgoing):
    p = f"triangle_multiplication_{'outgoing' if outgoing else 'incoming'}"
    w = _block_weights(p)
    block = TriangleMultiplication(SMALL, outgoing=outgoing)
    fill(block, w)
    _, z = _inputs(6)
    _check(
        "triangle multiplication",
        block(torch.from_numpy(z)),
        np_triangle_multiplication(z.astype(np.float64), _prefixed(w, p), outgoing),
    )


@pytest.mark.parametrize("S", [1, 3])
def test_outer_product_mean(S):
    w = _block_weights("outer_product_mean")
    block = OuterProductMean(SMALL)
    fill(block, w)
    m, _ = _inputs(5, S)
    _check(
        "outer product mean",
        block(torch.from_numpy(m)),
        np_outer_product_mean(m.astype(np.float64), _prefixed(w, "outer_product_mean")),
    )


@pytest.mark.parametrize("which,dim", [("msa_transition", SMALL.msa_dim), ("pair_transition", SMALL.pair_dim)])
def test_transition(which, dim):
    w = _block_weights(which)
    block = Transition(dim, SMALL.transition_factor)
    fill(block, w)
    x = np.random.default_rng(3).standard_normal((4, 5, dim)).astype(np.float32)
    _check("transition", block(torch.from_numpy(x)), np_transition(x.astype(np.float64), _prefixed(w, which), which))


def test_one_iteration():
    w = random_weights(iteration_spec(SMALL), np.random.default_rng(4))
    block = EvoformerIteration(SMALL)
    fill(block, w)
    m, z = _inputs(6)
    got_m, got_z = block(torch.from_numpy(m), torch.from_numpy(z))
    want_m, want_z = np_iteration(m.astype(np.float64), z.astype(np.float64), _f64(w))
    _check("iteration (msa)", got_m, want_m)
    _check("iteration (pair)", got_z, want_z)


@pytest.mark.parametrize("L", [1, 5, 9])  # 9 > max_relative_distance + 1: clipped offsets
def test_embedding(L):
    w = random_weights(embedding_spec(SMALL), np.random.default_rng(5))
    block = Embedding(SMALL)
    fill_emb = {k.replace("pair_activiations", "relative_position"): v for k, v in w.items()}
    fill(block, fill_emb)
    x = np.random.default_rng(6).standard_normal((L, SMALL.input_dim)).astype(np.float32)
    m, z = block(torch.from_numpy(x))
    want_m, want_z = np_embedding(x.astype(np.float64), _f64(w), SMALL.max_relative_distance)
    _check("embedding (msa)", m, want_m)
    _check("embedding (pair)", z, want_z)


def test_convolution_and_symmetrisation():
    head = RotaFormerHead(SMALL)
    rng = np.random.default_rng(7)
    kernel = rng.standard_normal((5, 5, SMALL.pair_dim, 1)).astype(np.float32)
    bias = rng.standard_normal(1).astype(np.float32)
    with torch.no_grad():
        head.conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
        head.conv.bias.copy_(torch.from_numpy(bias))
    z = rng.standard_normal((8, 8, SMALL.pair_dim)).astype(np.float32)
    logits = head.conv(torch.from_numpy(z).permute(2, 0, 1)[None])[0, 0]
    _check(
        "conv + symmetrisation",
        0.5 * (logits + logits.T),
        np_conv_sym(z.astype(np.float64), kernel.astype(np.float64), bias),
    )


# ----------------------------------------------------------------------------- the file
@pytest.mark.parametrize("scope,counters,shuffle", [("", (0, 0), False), ("ss_prediction_model/", (3, 1), True)])
def test_h5_loads_strictly_and_matches_numpy(tmp_path, scope, counters, shuffle):
    path = tmp_path / "ssHead.h5"
    groups = keras_file(path, SMALL, scope=scope, counters=counters, shuffle=shuffle)
    head = load_ss_head(path)
    assert head.config == SMALL
    for L in (1, 4, 9):
        x = np.random.default_rng(L).standard_normal((L, SMALL.input_dim)).astype(np.float32)
        want = np_head(x.astype(np.float64), groups, SMALL)
        with torch.no_grad():
            got = head(torch.from_numpy(x))
            got64 = head.double()(torch.from_numpy(x).double())
            head.float()
        # float32 through 4 iterations: logits of size ~20 agree to float32 precision (relative 1e-6);
        # in float64 the same weights agree to 1e-5 absolute, and far better in practice
        _check("whole head (float64)", got64, want)
        rel = float(np.abs(got.numpy() - want).max() / max(1.0, np.abs(want).max()))
        MAX_DIFFS["whole head (float32, relative)"] = max(rel, MAX_DIFFS.get("whole head (float32, relative)", 0.0))
        assert rel <= TOL
        assert torch.equal(got, got.T)  # exactly symmetric


def test_published_sizes_are_inferred_from_the_layout(tmp_path):
    # ProtRNA's 3 ensembles x 4 iterations, 5x5 kernel, +-32 offsets; narrow widths to stay fast
    c = HeadConfig(
        input_dim=16, msa_dim=8, pair_dim=4, msa_heads=2, msa_head_dim=2, pair_heads=2, pair_head_dim=2, outer_dim=2
    )
    keras_file(tmp_path / "h.h5", c)
    head = load_ss_head(tmp_path / "h.h5")
    assert head.config == c and c.num_iterations == 12 and c.max_relative_distance == 32
    assert HeadConfig() == HeadConfig(
        input_dim=1280, msa_dim=256, pair_dim=128, msa_heads=8, msa_head_dim=32, pair_heads=4, pair_head_dim=32
    )


def _drop(layer, suffix):
    def edit(groups):
        name = next(n for n in groups[layer] if n.endswith(suffix))
        del groups[layer][name]

    return edit


def test_missing_weight_is_named(tmp_path):
    keras_file(
        tmp_path / "h.h5",
        SMALL,
        edit=_drop("evoformer_ensemble_1", "evoformer_iteration_3/pair_transition/transition2/bias:0"),
    )
    with pytest.raises(CheckpointError, match="evoformer_iteration_3/pair_transition/transition2/bias"):
        load_ss_head(tmp_path / "h.h5")


def test_missing_layer_norm_offset_is_named_in_keras_terms(tmp_path):
    keras_file(
        tmp_path / "h.h5",
        SMALL,
        edit=_drop("evoformer_ensemble_0", "evoformer_iteration_1/triangle_attention_ending_node/query_norm/offset:0"),
    )
    with pytest.raises(CheckpointError, match="evoformer_iteration_1/triangle_attention_ending_node/query_norm/offset"):
        load_ss_head(tmp_path / "h.h5")


def test_unexpected_weight_is_named(tmp_path):
    def edit(groups):
        groups["evoformer_ensemble_0"]["evoformer_iteration_0/msa_column_attention/query_w:0"] = np.zeros(
            (2, 2, 2), np.float32
        )

    keras_file(tmp_path / "h.h5", SMALL, edit=edit)
    with pytest.raises(
        CheckpointError, match="unexpected weight 'evoformer_iteration_0/msa_column_attention/query_w:0'"
    ):
        load_ss_head(tmp_path / "h.h5")


def test_wrong_shape_is_named(tmp_path):
    def edit(groups):
        g = groups["evoformer_ensemble_1"]
        n = "evoformer_iteration_2/outer_product_mean/output_w:0"
        g[n] = g[n][:, :, :-1]

    keras_file(tmp_path / "h.h5", SMALL, edit=edit)
    with pytest.raises(CheckpointError, match="outer_product_mean/output_w:0' of shape"):
        load_ss_head(tmp_path / "h.h5")


def test_iteration_in_the_wrong_ensemble_is_refused(tmp_path):
    def edit(groups):
        a, b = groups["evoformer_ensemble_0"], groups["evoformer_ensemble_1"]
        moved = {n: v for n, v in a.items() if n.startswith("evoformer_iteration_1/")}
        for n in moved:
            del a[n]
        back = {n: v for n, v in b.items() if n.startswith("evoformer_iteration_2/")}
        for n in back:
            del b[n]
        a.update(back)
        b.update(moved)

    keras_file(tmp_path / "h.h5", SMALL, edit=edit)
    with pytest.raises(CheckpointError, match="an iteration of ensemble"):
        load_ss_head(tmp_path / "h.h5")


def test_backbone_file_is_not_a_head(tmp_path):
    def edit(groups):
        groups.clear()
        groups["embedding"] = {"embedding/embeddings:0": np.zeros((38, 4), np.float32)}

    keras_file(tmp_path / "h.h5", SMALL, edit=edit)
    with pytest.raises(CheckpointError, match="not ProtRNA's RotaFormer head"):
        load_ss_head(tmp_path / "h.h5")


def test_truncated_file_is_refused(tmp_path):
    keras_file(tmp_path / "h.h5", SMALL)
    data = (tmp_path / "h.h5").read_bytes()
    (tmp_path / "t.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_ss_head(tmp_path / "t.h5")


def test_registry_entry_and_download_probe(tmp_path):
    from rnalm import hub
    from rnalm.hub.verify import probe_problem

    entry = hub.get("protrna-ss-head")
    assert entry.files[0].filename == "ssHead_RF_bprna.h5" and entry.files[0].probe == "protrna-ss-head"
    keras_file(tmp_path / "h.h5", SMALL)
    assert probe_problem(tmp_path / "h.h5", "protrna-ss-head") is None
    data = (tmp_path / "h.h5").read_bytes()
    (tmp_path / "t.h5").write_bytes(data[: len(data) // 2])
    assert probe_problem(tmp_path / "t.h5", "protrna-ss-head")


def test_report_max_differences():
    """Runs last in this module: the largest difference seen per block (printed with -s)."""
    print({k: f"{v:.1e}" for k, v in sorted(MAX_DIFFS.items())})
    assert all(v <= TOL for v in MAX_DIFFS.values())
