"""The group prior of a fitted encoder: the fitted subjects' average decoder as one map.

:class:`~sklearn_crossenc.encoder.SubjectAdder` fits the newcomer's decoder (features
``x_t``: the frozen leave-one-out latent, optionally with time-shifted copies) by the
ridge regression shrunk toward a prior map rather than toward zero
(:func:`sklearn_crossenc.solvers.solve_toward_prior`, chosen by
:func:`sklearn_crossenc.solvers.prior_ridge_cv`). ``W0`` is the *group's* decoder, the
average of the fitted subjects' decoders written as one affine map of the (delayed)
latent (:func:`group_prior`), read from the torch module here; the solve itself is the
solver layer's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["group_prior", "prior_delays"]


def _same_pad_left(kernel_size: int) -> int:
    """Left padding of ``F.conv1d(..., padding="same")``: ``(K - 1) // 2``."""
    return (int(kernel_size) - 1) // 2


def prior_delays(module) -> tuple[int, ...]:
    """Delays (in TRs, positive = past) that the fitted decoders read: ``(0,)`` without a
    decoder kernel, else the support of their (causally masked) depthwise kernel.

    Examples
    --------
    >>> from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder
    >>> prior_delays(CrossSubjectConvLinearEncoder(3, 10, 4, decoder_kernel_size=0))
    (0,)
    >>> prior_delays(CrossSubjectConvLinearEncoder(3, 10, 4, decoder_kernel_size=3))
    (-1, 0, 1)
    >>> prior_delays(CrossSubjectConvLinearEncoder(3, 10, 4, decoder_kernel_size=3, causal=True))
    (0, 1)
    """
    if not module.dec_conv:
        return (0,)
    left = _same_pad_left(module.decoder_kernel_size)
    mask = module.decoder_causal_mask.detach().cpu().numpy()  # (K,)
    delays = {0} | {left - k for k in range(module.decoder_kernel_size) if mask[k] != 0}
    return tuple(sorted(delays))


def group_prior(module, delays) -> tuple[np.ndarray, np.ndarray]:
    """The fitted subjects' average decoder as one affine map of the delayed latent.

    ``mean_s decode_s(e)`` of :class:`CrossSubjectConvLinearEncoder` (shared plus
    per-subject decoders, the per-subject depthwise kernel included) equals
    ``delay_features(e, delays) @ coef + intercept`` (zero-padded at the episode's edges,
    as the decoders' ``"same"`` convolution is), provided ``delays`` holds
    :func:`prior_delays` of the module.

    Parameters
    ----------
    module : CrossSubjectConvLinearEncoder
        Read only.
    delays : sequence of int
        The newcomer's delays (see :func:`sklearn_crossenc.solvers.delay_features`).

    Returns
    -------
    coef : ndarray of shape (len(delays) * embed_dim, n_parcels), float64
    intercept : ndarray of shape (n_parcels,), float64
    """
    delays = tuple(int(d) for d in delays)
    missing = sorted(set(prior_delays(module)) - set(delays))
    if missing:
        raise ValueError(f"delays={delays} lacks the delays {missing} that the fitted "
                         "decoders' kernel reads; include them.")

    def get(name):
        p = getattr(module, name)
        return None if p is None else p.detach().cpu().double().numpy()

    S, C, D = module.num_subjects, module.fmri_dim, module.embed_dim
    w_sh, b_sh = get("shared_decoder_weight"), get("shared_decoder_bias")  # (C, D), (C,)
    w_s, b_s = get("subject_decoder_weight"), get("subject_decoder_bias")  # (S, C, D), (S, C)
    blocks = {d: np.zeros((D, C)) for d in delays}  # delay -> (D, C)
    intercept = np.zeros(C)
    if w_sh is not None:
        blocks[0] += w_sh.T
        intercept += b_sh
    if w_s is not None:
        intercept += b_s.mean(0)
        if not module.dec_conv:
            blocks[0] += w_s.mean(0).T
        else:
            conv_w = get("decoder_conv_weight") * get("decoder_causal_mask")  # (S, D, K)
            conv_b = get("decoder_conv_bias")  # (S, D)
            left = _same_pad_left(module.decoder_kernel_size)
            for k in range(conv_w.shape[2]):
                if np.any(conv_w[:, :, k]):
                    # conv(e)[t] reads e[t + k - left]: delay left - k.
                    blocks[left - k] += np.einsum("sd,scd->dc", conv_w[:, :, k], w_s) / S
            intercept += np.einsum("sd,scd->c", conv_b, w_s) / S
    coef = np.concatenate([blocks[d] for d in delays])  # (len(delays) * D, C)
    return coef, intercept
