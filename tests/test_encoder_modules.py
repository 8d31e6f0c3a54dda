"""The stacked module equals a literal copy of the seed's CrossSubjectConvLinearEncoderV2."""

from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder

# ----------------------------------------------------------------------------------------
# Literal transcription of the seed notebook's model (cells 15, 16, 44). The only change:
# ``causal`` is passed to the per-subject conv layers (the notebook's ConvLinear/LinearConv
# take it; V2 never forwards it, our module exposes it).


class CausalConv1d(nn.Conv1d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True):
        assert kernel_size % 2 == 1, "causal conv requires odd kernel size"
        super().__init__(in_channels=in_channels, out_channels=out_channels,
                         kernel_size=kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias)
        attn_mask = torch.zeros(kernel_size)
        attn_mask[:kernel_size // 2 + 1] = 1.0
        self.weight.data.mul_(attn_mask)
        self.register_buffer("attn_mask", attn_mask)

    def forward(self, input):
        weight = self.weight * self.attn_mask
        return F.conv1d(input, weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvLinear(nn.Module):
    def __init__(self, in_features, out_features, kernel_size=11, causal=False):
        super().__init__()
        conv_layer = CausalConv1d if causal else nn.Conv1d
        self.conv = conv_layer(in_features, in_features, kernel_size=kernel_size,
                               padding="same", groups=in_features)
        self.fc = nn.Linear(in_features, out_features)

    def forward(self, x):
        x = x.transpose(-1, -2)
        x = self.conv(x)
        x = x.transpose(-1, -2)
        return self.fc(x)


class LinearConv(nn.Module):
    def __init__(self, in_features, out_features, kernel_size=11, causal=False):
        super().__init__()
        conv_layer = CausalConv1d if causal else nn.Conv1d
        self.fc = nn.Linear(in_features, out_features)
        self.conv = conv_layer(out_features, out_features, kernel_size=kernel_size,
                               padding="same", groups=out_features)

    def forward(self, x):
        x = self.fc(x)
        x = x.transpose(-1, -2)
        x = self.conv(x)
        return x.transpose(-1, -2)


def init_weights(m):
    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        nn.init.constant_(m.bias, 0)


class SeedV2(nn.Module):
    def __init__(self, num_subjects=4, fmri_dim=1000, embed_dim=256, encoder_kernel_size=11,
                 decoder_kernel_size=11, normalize=False, with_shared_encoder=True,
                 with_shared_decoder=True, with_subject_encoders=True,
                 with_subject_decoders=True, causal=False):
        super().__init__()
        assert with_shared_encoder or with_subject_encoders
        assert with_shared_decoder or with_subject_decoders
        self.num_subjects = num_subjects
        if with_shared_encoder:
            self.shared_encoder = nn.Linear(fmri_dim, embed_dim)
        else:
            self.register_module("shared_encoder", None)
        if with_subject_encoders:
            if encoder_kernel_size > 1:
                encoder_fn = partial(LinearConv, kernel_size=encoder_kernel_size, causal=causal)
            else:
                encoder_fn = nn.Linear
            self.subject_encoders = nn.ModuleList(
                [encoder_fn(fmri_dim, embed_dim) for _ in range(num_subjects)])
        else:
            self.register_module("subject_encoders", None)
        self.norm = nn.LayerNorm(embed_dim) if normalize else nn.Identity()
        if with_shared_decoder:
            self.shared_decoder = nn.Linear(embed_dim, fmri_dim)
        else:
            self.register_module("shared_decoder", None)
        if with_subject_decoders:
            if decoder_kernel_size > 1:
                decoder_fn = partial(ConvLinear, kernel_size=decoder_kernel_size, causal=causal)
            else:
                decoder_fn = nn.Linear
            self.subject_decoders = nn.ModuleList(
                [decoder_fn(embed_dim, fmri_dim) for _ in range(num_subjects)])
        else:
            self.register_module("subject_decoders", None)
        weight = (1.0 - torch.eye(self.num_subjects)) / (self.num_subjects - 1.0)
        self.register_buffer("weight", weight)
        self.apply(init_weights)

    def forward(self, input):
        if self.shared_encoder is not None:
            shared_embed = self.shared_encoder(input)
        else:
            shared_embed = 0.0
        if self.subject_encoders is not None:
            subject_embeds = torch.stack(
                [encoder(input[:, ii]) for ii, encoder in enumerate(self.subject_encoders)],
                dim=1)
        else:
            subject_embeds = 0.0
        embed = self.norm(shared_embed + subject_embeds)
        embed = torch.einsum("nslc,ts->ntlc", embed, self.weight)
        if self.shared_decoder is not None:
            shared_output = self.shared_decoder(embed)
        else:
            shared_output = 0.0
        if self.subject_decoders is not None:
            subject_outputs = torch.stack(
                [decoder(embed[:, ii]) for ii, decoder in enumerate(self.subject_decoders)],
                dim=1)
        else:
            subject_outputs = 0.0
        return shared_output + subject_outputs


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
