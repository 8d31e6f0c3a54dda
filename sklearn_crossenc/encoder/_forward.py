"""The encoder's function over a stack of models, with the gradients it trains on.

Every function here takes the architecture ``a`` (a module with ``num_subjects``,
``embed_dim``, ``enc_conv``, ``dec_conv``, ``average_weight`` and the causal masks) and
the parameters ``p`` as a dict of tensors with a leading *model* axis ``K``: the single
:class:`~sklearn_crossenc.encoder.CrossSubjectConvLinearEncoder` passes views with
``K = 1``, the stack that :func:`~sklearn_crossenc.encoder.fit_repeats` trains passes
``K`` models at once. Subject-major data of the ``K`` models is laid out as ``G = K * S``
groups, ``(G, rows, features)``, so each layer is one batched product for all models and
subjects. Two custom gradients keep the training step lean (both compute the seed's
gradients; only rounding differs):

* :class:`DepthwiseConv`: the per-subject temporal convolution as shifted multiply-adds
  on the ``(G, N, L, D)`` layout the products produce (no transposes), which also adds the
  shared encoder's latents, so that the encoder's one ``2D``-wide product needs no slicing
  in either direction;
* :class:`LinearSSE`: the squared error of the decoder, ``||inp W^T + b - t||^2`` per
  group, from the Gram matrix of ``inp`` and the product ``t^T inp`` instead of the
  prediction: the training step skips the decoder's forward product and every
  ``(rows, parcels)``-sized temporary; the backward needs ``t W`` and small products only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "DepthwiseConv",
    "LinearSSE",
    "MSELoss",
    "PARAM_NAMES",
    "decode",
    "encode",
    "predict",
    "training_sse",
]

#: Parameters of the encoder, in the single module's order (``norm_*``: its LayerNorm).
PARAM_NAMES = (
    "shared_encoder_weight", "shared_encoder_bias", "subject_encoder_weight",
    "subject_encoder_bias", "encoder_conv_weight", "encoder_conv_bias", "norm_weight",
    "norm_bias", "decoder_conv_weight", "decoder_conv_bias", "shared_decoder_weight",
    "shared_decoder_bias", "subject_decoder_weight", "subject_decoder_bias",
)


class DepthwiseConv(torch.autograd.Function):
    """Per-group depthwise temporal convolution ("same" padding), plus a residual.

    ``h``: (G, N, L, P); ``w``: (G, D, k); ``b``: (G, D). The convolution reads the last
    ``D`` features of ``h``; with ``residual`` (``P = 2D``) the first ``D`` features are
    added to its output. Returns (G, N, L, D). Equals ``nn.Conv1d(D, D, k,
    padding="same", groups=D)`` of each group applied along ``L`` (for an even ``k`` the
    extra tap is on the right, as torch pads).
    """

    @staticmethod
    def forward(ctx, h, w, b, residual: bool):
        G, N, L, P = h.shape
        D, k = w.shape[1], w.shape[2]
        left = (k - 1) // 2
        padded = F.pad(h[..., P - D:], (0, 0, left, k - 1 - left))  # (G, N, L+k-1, D)
        taps = w.transpose(1, 2).unsqueeze(1).contiguous()  # (G, 1, k, D)
        bias = b[:, None, None, :]  # (G, 1, 1, D)
        out = h[..., :D] + bias if residual else bias.expand(G, N, L, D).clone()
        for j in range(k):
            out.addcmul_(padded[:, :, j:j + L], taps[:, :, j:j + 1])
        ctx.save_for_backward(padded, taps)
        ctx.residual = residual
        return out  # (G, N, L, D)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        padded, taps = ctx.saved_tensors
        k = taps.shape[2]
        L = padded.shape[2] - k + 1
        left = (k - 1) // 2
        g = g.contiguous()  # (G, N, L, D)
        gh = dw = db = None
        if ctx.needs_input_grad[0]:
            gp = F.pad(g, (0, 0, k - 1 - left, left))  # (G, N, L+k-1, D)
            gin = gp[:, :, k - 1:k - 1 + L] * taps[:, :, 0:1]
            for j in range(1, k):
                gin.addcmul_(gp[:, :, k - 1 - j:k - 1 - j + L], taps[:, :, j:j + 1])
            gh = torch.cat([g, gin], dim=-1) if ctx.residual else gin  # (G, N, L, P)
        if ctx.needs_input_grad[1]:
            dw = torch.stack(
                [(padded[:, :, j:j + L] * g).sum((1, 2)) for j in range(k)], dim=-1
            )  # (G, D, k)
        if ctx.needs_input_grad[2]:
            db = g.sum((1, 2))  # (G, D)
        return gh, dw, db, None


class LinearSSE(torch.autograd.Function):
    """Sum of squared errors of a linear map per group, without forming the prediction.

    ``sse[g] = ||inp[g] @ W[g].T + b[g] - t[g]||^2`` for ``inp`` (G, R, P), ``W``
    (G, C, P), ``b`` (G, C), given ``tW = t @ W`` (G, R, P), the column sums ``t_sum``
    (G, C) and the squared norms ``t_sq`` (G,) of the targets ``t`` (G, R, C) instead of
    ``t``. With ``Wb = [W | b]``, ``inp1 = [inp | 1]`` and ``M = inp1^T inp1``
    (G, P+1, P+1): ``sse = <Wb M, Wb> - 2 (<inp, tW> + <b, t_sum>) + t_sq``; the
    gradients are ``2 (Wb M - [0 | t_sum])`` for ``Wb``, ``2 (inp1 Wb^T W - tW)`` for
    ``inp`` and ``-2 inp`` for ``tW``, which autograd carries back into the product that
    made ``tW`` (as ``t^T inp``, the rest of the decoder's weight gradient). Only small
    products remain here: the decoder costs two products of ``t`` instead of three and
    no ``(rows, parcels)`` temporary. The results equal those of the explicit residual
    up to rounding, whose size grows with ``t_sq / sse`` (the net uses the explicit form
    when the fit is close to exact).
    """

    @staticmethod
    def forward(ctx, inp, W, b, tW, t_sum, t_sq):
        G, R, P = inp.shape
        inp1 = torch.cat([inp, inp.new_ones(G, R, 1)], dim=2)  # (G, R, P+1)
        Wb = torch.cat([W, b.unsqueeze(2)], dim=2)  # (G, C, P+1)
        WbM = torch.bmm(Wb, torch.bmm(inp1.transpose(1, 2), inp1))  # (G, C, P+1)
        cross = (inp * tW).sum((1, 2)) + (b * t_sum).sum(1)  # (G,)
        sse = (WbM * Wb).sum((1, 2)) - 2.0 * cross + t_sq  # (G,)
        ctx.save_for_backward(inp1, Wb, WbM, tW, t_sum)
        return sse

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_sse):
        inp1, Wb, WbM, tW, t_sum = ctx.saved_tensors
        P = inp1.shape[2] - 1
        scale = (2.0 * g_sse)[:, None, None]  # (G, 1, 1)
        g_inp = g_W = g_b = g_tW = None
        if ctx.needs_input_grad[1]:
            g_W = WbM[..., :P] * scale  # (G, C, P)
        if ctx.needs_input_grad[2]:
            g_b = (WbM[..., P] - t_sum) * scale[:, 0]  # (G, C)
        if ctx.needs_input_grad[0]:
            g_inp = torch.bmm(inp1, torch.bmm(Wb.transpose(1, 2), Wb[..., :P]))  # (G, R, P)
            g_inp.sub_(tW).mul_(scale)
        if ctx.needs_input_grad[3]:
            g_tW = inp1[..., :P] * -scale  # (G, R, P)
        return g_inp, g_W, g_b, g_tW, None, None


def _groups(a, p) -> tuple[int, int]:
    """(K, S): models and subjects of the parameters ``p``."""
    for name in ("subject_encoder_weight", "shared_encoder_weight"):
        if p[name] is not None:
            return p[name].shape[0], a.num_subjects
    raise ValueError("the encoder has no weights")  # pragma: no cover - checked at build


def _per_group(t: torch.Tensor, S: int) -> torch.Tensor:
    """A shared tensor (K, ...) repeated for every subject: (K, S, ...)."""
    return t.unsqueeze(1).expand(t.shape[0], S, *t.shape[1:])


def encode(a, p, x: torch.Tensor, N: int, L: int, extra: torch.Tensor | None = None):
    """Latents before normalisation. x: (G, N*L, C) -> (G, N*L, D).

    ``extra``: more rows (G, E, C) for the same product (with subject encoders): the
    latents and ``x @ extra^T`` (G, N*L, E) are returned, from one wider product.
    """
    K, S = _groups(a, p)
    D = a.embed_dim
    G, R, C = x.shape
    ws, bs = p["shared_encoder_weight"], p["shared_encoder_bias"]  # (K, D, C), (K, D)
    wj, bj = p["subject_encoder_weight"], p["subject_encoder_bias"]  # (K, S, D, C), (K, S, D)
    if wj is None:
        out = torch.baddbmm(bs.unsqueeze(1), x.view(K, S * R, C), ws.transpose(1, 2))
        out = out.view(G, R, D)  # (K, S*R, D) as groups
        return out if extra is None else (out, torch.bmm(x, extra.transpose(1, 2)))
    if not a.enc_conv:
        # Shared and subject maps read the same input: one summed weight per subject.
        if ws is not None:
            wj, bj = wj + ws.unsqueeze(1), bj + bs.unsqueeze(1)
        w, b = wj.reshape(G, D, C), bj.reshape(G, 1, D)
    elif ws is not None:
        # One product of width 2D: [shared | subject] latents.
        w = torch.cat([_per_group(ws, S), wj], dim=2).view(G, 2 * D, C)
        b = torch.cat([_per_group(bs, S), bj], dim=2).view(G, 1, 2 * D)
    else:
        w, b = wj.reshape(G, D, C), bj.reshape(G, 1, D)
    Pe = w.shape[1]
    if extra is not None:
        w = torch.cat([w, extra], dim=1)  # (G, Pe+E, C)
        b = torch.cat([b, b.new_zeros(G, 1, extra.shape[1])], dim=2)
    h = torch.baddbmm(b, x, w.transpose(1, 2))  # (G, R, Pe[+E])
    # split (not slicing): its backward is one concatenation, not zero-filled copies
    out, rest = torch.split(h, [Pe, h.shape[2] - Pe], dim=2)
    if a.enc_conv:
        conv_w = (p["encoder_conv_weight"] * a.encoder_causal_mask).reshape(G, D, -1)
        out = DepthwiseConv.apply(out.view(G, N, L, Pe), conv_w,
                                  p["encoder_conv_bias"].reshape(G, D), ws is not None)
        out = out.view(G, R, D)
    return out if extra is None else (out, rest)


def _normalize(a, p, e: torch.Tensor) -> torch.Tensor:
    """LayerNorm of the latents with each model's affine. e: (G, R, D)."""
    w, b = p["norm_weight"], p["norm_bias"]  # (K, D) each
    if w is None:
        return e
    D = e.shape[-1]
    if w.shape[0] == 1:
        return F.layer_norm(e, (D,), w[0], b[0], a.norm_eps)
    K, S = w.shape[0], a.num_subjects
    z = F.layer_norm(e, (D,), eps=a.norm_eps).view(K, S, -1, D)
    return torch.addcmul(b[:, None, None], z, w[:, None, None]).view(e.shape)


def _mix(a, e: torch.Tensor) -> torch.Tensor:
    """Each subject's decoder input: the average of the other subjects' latents (G, R, D)."""
    S = a.num_subjects
    G = e.shape[0]
    return torch.matmul(a.average_weight, e.reshape(G // S, S, -1)).view(e.shape)


def _decoder_weights(a, p):
    """(W (G, C, P), b (G, C)) of the decoder, whose prediction is ``inp @ W^T + b``."""
    K, S = _groups(a, p)
    ws, bs = p["shared_decoder_weight"], p["shared_decoder_bias"]  # (K, C, D), (K, C)
    wj, bj = p["subject_decoder_weight"], p["subject_decoder_bias"]  # (K, S, C, D), (K, S, C)
    G = K * S
    if wj is None:
        return _per_group(ws, S).reshape(G, *ws.shape[1:]), _per_group(bs, S).reshape(G, -1)
    if ws is None:
        return wj.reshape(G, *wj.shape[2:]), bj.reshape(G, -1)
    b = (bj + bs.unsqueeze(1)).view(G, -1)
    if a.dec_conv:
        # One product of width 2D: [m | conv(m)] @ [W_shared | W_subject]^T.
        return torch.cat([_per_group(ws, S), wj], dim=3).view(G, ws.shape[1], -1), b
    # Shared and subject decoders read the same input: one summed weight.
    return (wj + ws.unsqueeze(1)).view(G, *ws.shape[1:]), b


def _decoder_input(a, p, m: torch.Tensor, N: int, L: int) -> torch.Tensor:
    """What the decoder weights multiply: (G, R, P) from the mixed latents m (G, R, D)."""
    if p["subject_decoder_weight"] is None or not a.dec_conv:
        return m
    G, R, D = m.shape
    conv_w = (p["decoder_conv_weight"] * a.decoder_causal_mask).reshape(G, D, -1)
    c = DepthwiseConv.apply(m.view(G, N, L, D), conv_w,
                            p["decoder_conv_bias"].reshape(G, D), False).view(G, R, D)
    return c if p["shared_decoder_weight"] is None else torch.cat([m, c], dim=-1)


def decode(a, p, m: torch.Tensor, N: int, L: int) -> torch.Tensor:
    """Parcels from mixed latents. m: (G, N*L, D) -> (G, N*L, C)."""
    W, b = _decoder_weights(a, p)
    inp = _decoder_input(a, p, m, N, L)
    return torch.baddbmm(b.unsqueeze(1), inp, W.transpose(1, 2))


def _mixed(a, p, e: torch.Tensor) -> torch.Tensor:
    return _mix(a, _normalize(a, p, e))  # (G, N*L, D)


def predict(a, p, x: torch.Tensor, N: int, L: int) -> torch.Tensor:
    """Every subject predicted from the others. x: (G, N*L, C) -> (G, N*L, C)."""
    return decode(a, p, _mixed(a, p, encode(a, p, x, N, L)), N, L)


def training_sse(a, p, x: torch.Tensor, t: torch.Tensor, t_sq: torch.Tensor | None,
                 N: int, L: int) -> torch.Tensor:
    """Sum of squared errors of each group's prediction of ``t`` (G,).

    x, t: (G, N*L, C); ``t_sq``: (G,) squared norms of ``t`` (None: the explicit residual
    ``predict - t``, the reference form; else :class:`LinearSSE`, where the products of
    ``t`` with the decoder's weights join the encoder's product when ``t`` is ``x``).
    """
    if t_sq is None:
        d = (predict(a, p, x, N, L) - t).view(t.shape[0], -1)  # (G, N*L*C)
        return torch.linalg.vecdot(d, d)
    W, b = _decoder_weights(a, p)  # (G, C, P), (G, C)
    if t is x:
        e, tW = encode(a, p, x, N, L, W.transpose(1, 2))  # (G, R, D), (G, R, P)
    else:
        e, tW = encode(a, p, x, N, L), torch.bmm(t, W)
    inp = _decoder_input(a, p, _mixed(a, p, e), N, L)
    return LinearSSE.apply(inp, W, b, tW, t.sum(1), t_sq)


class _MSEFunction(torch.autograd.Function):
    """Mean squared error with a one-pass backward.

    The forward keeps ``d = pred - target`` and sums its squares with one BLAS dot; the
    backward scales ``d`` in place into the gradient ``2 d / n``. The gradient is the
    same as ``F.mse_loss``'s; the loss value is summed in float32 by BLAS (relative
    error about 1e-4 on millions of elements: it is only reported and checked for NaN).
    """

    @staticmethod
    def forward(ctx, pred, target):
        d = pred - target  # (...) same shape as pred
        flat = d.view(-1)
        ctx.save_for_backward(d)
        ctx.n = d.numel()
        return torch.dot(flat, flat) / ctx.n

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        g = d.mul_(grad * (2.0 / ctx.n))
        return g, (-g if ctx.needs_input_grad[1] else None)


class MSELoss(torch.nn.Module):
    """``nn.MSELoss()`` (mean reduction) with a cheaper backward; see ``_MSEFunction``."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() or not pred.requires_grad:
            return torch.nn.functional.mse_loss(pred, target)
        return _MSEFunction.apply(pred, target.expand_as(pred).contiguous())
