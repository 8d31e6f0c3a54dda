"""The stacked module equals a literal copy of the seed's CrossSubjectConvLinearEncoderV2."""


import pytest
import seed_reference  # benchmarks/ is on pytest's pythonpath
import torch
import torch.nn.functional as F

from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder

# The seed's model as the notebook writes it, from the independent plain-PyTorch reference
# (benchmarks/seed_reference.py; its one addition: ``causal`` reaches the subject convs).
SeedV2 = seed_reference.CrossSubjectConvLinearEncoderV2


# ----------------------------------------------------------------------------------------

S, C, D = 3, 17, 6

CONFIGS = [
    dict(encoder_kernel_size=7, decoder_kernel_size=0),  # the seed's chosen configuration
    dict(encoder_kernel_size=0, decoder_kernel_size=0),
    dict(encoder_kernel_size=1, decoder_kernel_size=1),
    dict(encoder_kernel_size=7, decoder_kernel_size=7),
    dict(encoder_kernel_size=4, decoder_kernel_size=4),  # even kernels, "same" padding
    dict(encoder_kernel_size=7, decoder_kernel_size=5, causal=True),
    dict(encoder_kernel_size=3, decoder_kernel_size=3, normalize=True),
    dict(encoder_kernel_size=7, decoder_kernel_size=7, with_shared_encoder=False),
    dict(encoder_kernel_size=7, decoder_kernel_size=7, with_shared_decoder=False),
    dict(encoder_kernel_size=7, decoder_kernel_size=7, with_subject_encoders=False),
    dict(encoder_kernel_size=0, decoder_kernel_size=7, with_subject_decoders=False),
    dict(encoder_kernel_size=0, decoder_kernel_size=0, with_shared_encoder=False,
         with_shared_decoder=False, normalize=True),
    dict(encoder_kernel_size=0, decoder_kernel_size=0, with_subject_encoders=False,
         with_subject_decoders=False),
]


def _pair(cfg, seed=0):
    torch.manual_seed(seed)
    ref = SeedV2(num_subjects=S, fmri_dim=C, embed_dim=D, **cfg)
    ours = CrossSubjectConvLinearEncoder(num_subjects=S, fmri_dim=C, embed_dim=D, **cfg)
    ours.load_seed_state_dict(ref.state_dict())
    if cfg.get("normalize"):  # make the LayerNorm affine non-trivial in both
        with torch.no_grad():
            ref.norm.weight.uniform_(0.5, 1.5)
            ref.norm.bias.uniform_(-0.2, 0.2)
        ours.load_seed_state_dict(ref.state_dict())
    return ref, ours


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_outputs_and_gradients_match_seed(cfg):
    ref, ours = _pair(cfg)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, S, 11, C, generator=g)
    target = torch.randn(5, S, 11, C, generator=g)
    out_ref, out = ref(x), ours(x)
    assert out.shape == (5, S, 11, C)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-4)
    F.mse_loss(out_ref, target).backward()
    F.mse_loss(out, target).backward()
    # Gradients mapped to the seed's layout equal the seed's gradients, parameter by parameter.
    grads = {n: p.grad for n, p in ours.named_parameters()}
    saved = {n: p.data.clone() for n, p in ours.named_parameters()}
    with torch.no_grad():
        for n, p in ours.named_parameters():
            p.copy_(grads[n])
    ours_grads_seed_layout = ours.seed_state_dict()
    with torch.no_grad():
        for n, p in ours.named_parameters():
            p.copy_(saved[n])
    ref_grads = {n: p.grad for n, p in ref.named_parameters()}
    assert ref_grads, "seed module has parameters"
    for name, g_ref in ref_grads.items():
        g_ours = ours_grads_seed_layout[name]
        if name.endswith("conv.weight") and cfg.get("causal"):
            g_ref = g_ref * (torch.arange(g_ref.shape[-1]) <= g_ref.shape[-1] // 2)
        torch.testing.assert_close(g_ours.reshape(g_ref.shape), g_ref, atol=1e-6, rtol=1e-4,
                                   msg=lambda m, name=name: f"{name}: {m}")


def test_causal_output_ignores_the_future():
    _, ours = _pair(dict(encoder_kernel_size=7, decoder_kernel_size=5, causal=True))
    x = torch.randn(2, S, 20, C)
    x2 = x.clone()
    x2[:, :, 12:] += 5.0
    torch.testing.assert_close(ours(x)[:, :, :12], ours(x2)[:, :, :12])
    assert not torch.allclose(ours(x)[:, :, 12:], ours(x2)[:, :, 12:])


def test_subject_major_forward_matches_and_leave_one_out():
    _, ours = _pair(dict(encoder_kernel_size=0, decoder_kernel_size=0))
    x = torch.randn(4, S, 9, C)
    torch.testing.assert_close(
        ours.forward_subject_major(x.transpose(0, 1).contiguous()).transpose(0, 1), ours(x))
    # Subject 0's prediction does not depend on subject 0's own data.
    x2 = x.clone()
    x2[:, 0] = torch.randn(4, 9, C)
    torch.testing.assert_close(ours(x)[:, 0], ours(x2)[:, 0])
    assert not torch.allclose(ours(x)[:, 1], ours(x2)[:, 1])


def test_init_matches_seed_statistics():
    torch.manual_seed(0)
    m = CrossSubjectConvLinearEncoder(num_subjects=4, fmri_dim=1000, embed_dim=64,
                                      encoder_kernel_size=7, decoder_kernel_size=0)
    w = m.subject_encoder_weight.detach()
    assert abs(float(w.std()) - 0.02) < 5e-4
    assert float(w.abs().max()) <= 2.0
    assert torch.count_nonzero(m.subject_decoder_bias) == 0
    n_ref = sum(p.numel() for p in SeedV2(embed_dim=64, encoder_kernel_size=7,
                                          decoder_kernel_size=0).parameters())
    assert sum(p.numel() for p in m.parameters()) == n_ref  # 0.65M as the notebook prints


def test_bad_options_and_inputs():
    with pytest.raises(ValueError, match="at least 2 subjects"):
        CrossSubjectConvLinearEncoder(num_subjects=1)
    with pytest.raises(ValueError, match="odd encoder_kernel_size; got 4"):
        CrossSubjectConvLinearEncoder(encoder_kernel_size=4, causal=True)
    with pytest.raises(ValueError, match="shared or subject encoders"):
        CrossSubjectConvLinearEncoder(with_shared_encoder=False, with_subject_encoders=False)
    m = CrossSubjectConvLinearEncoder(num_subjects=3, fmri_dim=5, embed_dim=2)
    with pytest.raises(ValueError, match=r"expected input \(N, 3, L, 5\); got \(1, 2, 4, 5\)"):
        m(torch.zeros(1, 2, 4, 5))
    with pytest.raises(ValueError, match="lacks"):
        m.load_seed_state_dict({})


@pytest.mark.parametrize("cfg", [
    dict(encoder_kernel_size=7, decoder_kernel_size=0),
    dict(encoder_kernel_size=0, decoder_kernel_size=5, normalize=True),
], ids=["seed-config", "decoder-conv"])
def test_adamw_training_trajectory_matches_seed(cfg):
    """Summing weights inside the forward keeps every parameter's gradient, so AdamW with
    weight decay follows the seed's trajectory step by step (up to float rounding)."""
    ref, ours = _pair(cfg)
    opt_ref = torch.optim.AdamW(ref.parameters(), lr=1e-2, weight_decay=1e-1)
    opt = torch.optim.AdamW(ours.parameters(), lr=1e-2, weight_decay=1e-1)
    g = torch.Generator().manual_seed(2)
    for _ in range(25):
        x = torch.randn(4, S, 9, C, generator=g)
        for model, o in ((ref, opt_ref), (ours, opt)):
            loss = F.mse_loss(model(x), x)
            o.zero_grad()
            loss.backward()
            o.step()
    x = torch.randn(2, S, 9, C, generator=g)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-4, rtol=1e-3)
    seed_layout = ours.seed_state_dict()
    for name, p in ref.named_parameters():
        torch.testing.assert_close(seed_layout[name].reshape(p.shape), p.detach(),
                                   atol=1e-4, rtol=1e-3)
