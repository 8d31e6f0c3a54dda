"""The seed's cross-subject encoder as one torch module with stacked per-subject weights.

:class:`CrossSubjectConvLinearEncoder` computes exactly the function of the seed
notebook's ``CrossSubjectConvLinearEncoderV2`` (same parameters, same initialisation),
but holds the per-subject weights stacked along a leading subject axis and runs every
subject at once with batched matrix products:

* per-subject encoders ``(S, D, C)`` and decoders ``(S, C, D)`` in one ``baddbmm`` each
  instead of a Python loop over subjects;
* where the shared and the per-subject layer read the same input (both decoders when
  ``decoder_kernel_size <= 1``, both encoders when ``encoder_kernel_size <= 1``), the two
  weights are summed into one weight per subject *inside the forward pass*
  (``W_shared + W_subject``), so one product replaces two. The parameters stay separate,
  so autograd gives each of them exactly the seed's gradient (the gradient of a sum
  reaches both terms) and AdamW, weight decay included, updates them exactly as the seed
  does; only floating-point rounding differs;
* where they cannot be summed (a temporal convolution sits between one of them and the
  input), their weights are concatenated so that one wider product replaces two.

The function itself is written once, over a stack of models, in
:mod:`~sklearn_crossenc.encoder._forward` (this module is a stack of one);
:meth:`CrossSubjectConvLinearEncoder.training_sse` is the training step's loss, computed
there without forming the decoder's prediction.

:meth:`CrossSubjectConvLinearEncoder.load_seed_state_dict` and
:meth:`CrossSubjectConvLinearEncoder.seed_state_dict` convert to and from the seed's
``state_dict`` layout (for example the notebook's ``ckpt.pt``).
"""

from __future__ import annotations

import torch
from torch import nn

from ._forward import PARAM_NAMES, decode, encode, predict, training_sse


def check_architecture(encoder_kernel_size, decoder_kernel_size, *, causal,
                       encoders=(True, True), decoders=(True, True)) -> None:
    """The architecture rules, shared by the module and :class:`CrossSubjectEncoder`.

    ``encoders`` and ``decoders`` are ``(shared, subject-specific)`` flags: at least one
    of each pair is needed. With ``causal``, a subject convolution that exists (its
    layer is on and its kernel is > 1) needs an odd kernel (a centred causal pad).

    Examples
    --------
    >>> check_architecture(7, 0, causal=True)
    >>> check_architecture(4, 0, causal=True)
    Traceback (most recent call last):
    ...
    ValueError: causal=True needs an odd encoder_kernel_size; got 4.
    """
    for part, (shared, subject) in (("encoder", encoders), ("decoder", decoders)):
        if not (shared or subject):
            raise ValueError(f"shared and subject-specific {part}s cannot both be False: "
                             f"at least one of the shared or subject {part}s is needed.")
    if causal:
        for name, k, subject in (("encoder_kernel_size", int(encoder_kernel_size), encoders[1]),
                                 ("decoder_kernel_size", int(decoder_kernel_size), decoders[1])):
            if subject and k > 1 and k % 2 == 0:
                raise ValueError(f"causal=True needs an odd {name}; got {k}.")

__all__ = ["CrossSubjectConvLinearEncoder", "check_architecture", "trunc_normal_init"]

INIT_STD = 0.02


def trunc_normal_init(tensor: torch.Tensor, std: float = INIT_STD) -> torch.Tensor:
    """The seed's ``init_weights``: ``nn.init.trunc_normal_(w, std=0.02)`` (cut at +-2)."""
    return nn.init.trunc_normal_(tensor, std=std)


class CrossSubjectConvLinearEncoder(nn.Module):
    """Cross-subject linear encoder/decoder with optional temporal convolutions.

    The seed notebook's ``CrossSubjectConvLinearEncoderV2``: each subject's parcels are
    encoded into ``embed_dim`` latents (a shared linear map plus a per-subject linear map
    followed by a depthwise temporal convolution when ``encoder_kernel_size > 1``), the
    latents are optionally layer-normalised, each subject's decoder input is the average
    of the *other* subjects' latents (weights ``(1 - I) / (S - 1)``), and a shared plus a
    per-subject decoder (the latter with a depthwise temporal convolution first when
    ``decoder_kernel_size > 1``) map it back to parcels.

    Parameters
    ----------
    num_subjects : int, default=4
        Number of subjects ``S`` (at least 2).
    fmri_dim : int, default=1000
        Number of parcels ``C``.
    embed_dim : int, default=256
        Latent size ``D``. The defaults here are the notebook's class defaults (256, kernels
        of 11); :class:`~sklearn_crossenc.encoder.CrossSubjectEncoder` defaults to the
        notebook's training configuration (64, encoder kernel 7, no decoder kernel).
    encoder_kernel_size, decoder_kernel_size : int, default=11
        Temporal kernel of the per-subject encoders / decoders; ``<= 1`` means none.
    causal : bool, default=False
        Mask the temporal kernels so that time ``t`` only sees ``t`` and earlier (the
        seed's ``CausalConv1d``; needs odd kernel sizes).
    normalize : bool, default=False
        LayerNorm on the latents.
    with_shared_encoder, with_shared_decoder, with_subject_encoders, with_subject_decoders : bool
        Which linear maps exist (at least one encoder and one decoder).

    Notes
    -----
    Inputs are ``(N, S, L, C)`` as in the seed (:meth:`forward`) or subject-major
    ``(S, N, L, C)`` (:meth:`forward_subject_major`, what the estimator's training uses:
    clips gathered from a subject-major tensor need no transpose).

    Examples
    --------
    >>> import torch
    >>> from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder
    >>> m = CrossSubjectConvLinearEncoder(num_subjects=3, fmri_dim=10, embed_dim=4,
    ...                                   encoder_kernel_size=3, decoder_kernel_size=0)
    >>> m(torch.zeros(2, 3, 8, 10)).shape
    torch.Size([2, 3, 8, 10])
    """

    def __init__(
        self,
        num_subjects: int = 4,
        fmri_dim: int = 1000,
        embed_dim: int = 256,
        encoder_kernel_size: int = 11,
        decoder_kernel_size: int = 11,
        causal: bool = False,
        normalize: bool = False,
        with_shared_encoder: bool = True,
        with_shared_decoder: bool = True,
        with_subject_encoders: bool = True,
        with_subject_decoders: bool = True,
    ):
        super().__init__()
        check_architecture(encoder_kernel_size, decoder_kernel_size, causal=causal,
                           encoders=(with_shared_encoder, with_subject_encoders),
                           decoders=(with_shared_decoder, with_subject_decoders))
        if num_subjects < 2:
            raise ValueError(
                f"num_subjects={num_subjects}; at least 2 subjects are needed (each "
                "subject is predicted from the others)."
            )
        S, C, D = int(num_subjects), int(fmri_dim), int(embed_dim)
        self.num_subjects, self.fmri_dim, self.embed_dim = S, C, D
        self.encoder_kernel_size = int(encoder_kernel_size)
        self.decoder_kernel_size = int(decoder_kernel_size)
        self.causal = bool(causal)
        self.enc_conv = with_subject_encoders and self.encoder_kernel_size > 1
        self.dec_conv = with_subject_decoders and self.decoder_kernel_size > 1

        def param(*shape):
            return nn.Parameter(torch.empty(*shape))

        def zeros(*shape):
            return nn.Parameter(torch.zeros(*shape))

        # Encoders: parcels C -> latents D.
        self.shared_encoder_weight = param(D, C) if with_shared_encoder else None  # (D, C)
        self.shared_encoder_bias = zeros(D) if with_shared_encoder else None  # (D,)
        self.subject_encoder_weight = param(S, D, C) if with_subject_encoders else None
        self.subject_encoder_bias = zeros(S, D) if with_subject_encoders else None
        ke = self.encoder_kernel_size
        self.encoder_conv_weight = param(S, D, ke) if self.enc_conv else None  # (S, D, K)
        self.encoder_conv_bias = zeros(S, D) if self.enc_conv else None
        self.norm = nn.LayerNorm(D) if normalize else None
        # Decoders: latents D -> parcels C.
        kd = self.decoder_kernel_size
        self.decoder_conv_weight = param(S, D, kd) if self.dec_conv else None  # (S, D, K)
        self.decoder_conv_bias = zeros(S, D) if self.dec_conv else None
        self.shared_decoder_weight = param(C, D) if with_shared_decoder else None  # (C, D)
        self.shared_decoder_bias = zeros(C) if with_shared_decoder else None
        self.subject_decoder_weight = param(S, C, D) if with_subject_decoders else None
        self.subject_decoder_bias = zeros(S, C) if with_subject_decoders else None

        average = (1.0 - torch.eye(S)) / (S - 1.0)  # (S_target, S_source)
        self.register_buffer("average_weight", average)
        for k, name in ((ke, "encoder"), (kd, "decoder")):
            mask = torch.zeros(max(k, 1))
            mask[: k // 2 + 1] = 1.0
            self.register_buffer(f"{name}_causal_mask", mask if causal else torch.ones_like(mask))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Truncated-normal weights (std 0.02), zero biases, LayerNorm at identity."""
        for name, p in self.named_parameters():
            if name.startswith("norm."):
                continue
            if name.endswith("_weight"):
                trunc_normal_init(p.data)
            else:
                nn.init.zeros_(p.data)
        if self.norm is not None:
            self.norm.reset_parameters()

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict every subject from the others. x: (N, S, L, C) -> (N, S, L, C)."""
        if x.ndim != 4 or x.shape[1] != self.num_subjects or x.shape[3] != self.fmri_dim:
            raise ValueError(
                f"expected input (N, {self.num_subjects}, L, {self.fmri_dim}); "
                f"got {tuple(x.shape)}."
            )
        return self.forward_subject_major(x.transpose(0, 1)).transpose(0, 1)

    def forward_subject_major(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`forward` on subject-major data. x: (S, N, L, C) -> (S, N, L, C)."""
        S, N, L, C = x.shape
        return predict(self, self.stacked_params(), x.reshape(S, N * L, C), N, L).view(x.shape)

    def encode(self, x: torch.Tensor, N: int, L: int) -> torch.Tensor:
        """Latents before normalisation. x: (S, N*L, C) -> (S, N*L, D)."""
        return encode(self, self.stacked_params(), x, N, L)

    def decode(self, e: torch.Tensor, N: int, L: int) -> torch.Tensor:
        """Parcels from mixed latents. e: (S, N*L, D) -> (S, N*L, C)."""
        return decode(self, self.stacked_params(), e, N, L)

    def training_sse(self, x: torch.Tensor, target: torch.Tensor,
                     target_sq: torch.Tensor | None = None) -> torch.Tensor:
        """Each subject's summed squared error of predicting ``target`` from ``x`` (S,).

        x, target: (S, N, L, C); ``target_sq``: (S,) the squared norm of each subject's
        target, which lets the decoder's error be computed without its prediction
        (:class:`~sklearn_crossenc.encoder._forward.LinearSSE`); None computes the
        residual explicitly. Both give the same value and gradients up to rounding.
        """
        S, N, L, C = x.shape
        x2 = x.reshape(S, N * L, C)
        t2 = x2 if target is x else target.reshape(S, N * L, C)
        return training_sse(self, self.stacked_params(), x2, t2, target_sq, N, L)

    def stacked_params(self) -> dict:
        """The parameters as a stack of one model: name -> view with a leading axis 1."""
        norm = self.norm
        out = {name: getattr(self, name, None) for name in PARAM_NAMES[:6] + PARAM_NAMES[8:]}
        out["norm_weight"] = None if norm is None else norm.weight
        out["norm_bias"] = None if norm is None else norm.bias
        return {k: None if v is None else v.unsqueeze(0) for k, v in out.items()}

    @property
    def norm_eps(self) -> float:
        return 1e-5 if self.norm is None else self.norm.eps

    # -------------------------------------------------------- seed conversion
    def _seed_keys(self):
        """Pairs (seed key, getter/setter spec) describing the seed's state_dict layout."""
        S = self.num_subjects
        enc = "subject_encoders.{i}.fc." if self.enc_conv else "subject_encoders.{i}."
        dec = "subject_decoders.{i}.fc." if self.dec_conv else "subject_decoders.{i}."
        spec = [
            ("shared_encoder.weight", "shared_encoder_weight", None),
            ("shared_encoder.bias", "shared_encoder_bias", None),
            ("shared_decoder.weight", "shared_decoder_weight", None),
            ("shared_decoder.bias", "shared_decoder_bias", None),
        ]
        for i in range(S):
            spec += [
                (enc.format(i=i) + "weight", "subject_encoder_weight", i),
                (enc.format(i=i) + "bias", "subject_encoder_bias", i),
                (dec.format(i=i) + "weight", "subject_decoder_weight", i),
                (dec.format(i=i) + "bias", "subject_decoder_bias", i),
                (f"subject_encoders.{i}.conv.weight", "encoder_conv_weight", i),
                (f"subject_encoders.{i}.conv.bias", "encoder_conv_bias", i),
                (f"subject_decoders.{i}.conv.weight", "decoder_conv_weight", i),
                (f"subject_decoders.{i}.conv.bias", "decoder_conv_bias", i),
            ]
        return [(k, n, i) for k, n, i in spec if getattr(self, n) is not None]

    def seed_state_dict(self) -> dict[str, torch.Tensor]:
        """This model's weights in the seed's ``CrossSubjectConvLinearEncoderV2`` layout."""
        out = {}
        for key, name, i in self._seed_keys():
            t = getattr(self, name).detach()
            t = t if i is None else t[i]
            if name.endswith("conv_weight"):
                t = t.unsqueeze(1)  # (D, 1, K) as nn.Conv1d(groups=D)
            out[key] = t.clone()
        if self.norm is not None:
            out["norm.weight"] = self.norm.weight.detach().clone()
            out["norm.bias"] = self.norm.bias.detach().clone()
        out["weight"] = self.average_weight.clone()
        return out

    @torch.no_grad()
    def load_seed_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Copy weights from a seed ``CrossSubjectConvLinearEncoderV2.state_dict()``.

        Raises ``ValueError`` naming the missing keys or the mismatched shape.
        """
        spec = self._seed_keys()
        missing = [k for k, _, _ in spec if k not in state_dict]
        if missing:
            raise ValueError(
                f"seed state_dict lacks {len(missing)} key(s) this configuration needs, "
                f"e.g. {missing[:3]}."
            )
        for key, name, i in spec:
            src = state_dict[key]
            dst = getattr(self, name)
            dst = dst if i is None else dst[i]
            if name.endswith("conv_weight"):
                src = src.reshape(src.shape[0], -1)
            if tuple(src.shape) != tuple(dst.shape):
                raise ValueError(
                    f"seed key {key!r} has shape {tuple(src.shape)}; expected {tuple(dst.shape)}."
                )
            dst.copy_(src)
        if self.norm is not None:
            self.norm.weight.copy_(state_dict["norm.weight"])
            self.norm.bias.copy_(state_dict["norm.bias"])
