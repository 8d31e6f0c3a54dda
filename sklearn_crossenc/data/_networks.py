"""The synthetic parcels' layout: hemisphere, network and rank within the network of each label.

The release's parcellation is Schaefer 2018, 1000 parcels, 7 networks: labels 1-500 are the
left hemisphere and 501-1000 the right, each grouped by network in the order of
:data:`NETWORKS`. The synthetic dataset follows that order. Within a network, a label's
*rank* ``u`` (0 = first, up to 1) orders its parcels by distance from the network's hub (a
sensory or association centre, see :mod:`._atlas`), so that the generative model can make
signal vary smoothly within a network and differ between networks without knowing any
coordinates; the synthetic atlas then puts each label where its rank says. The layout is
pure arithmetic (no template, no random numbers): the same for every seed and with or
without nilearn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NETWORKS", "NETWORK_SHARES", "network_counts", "parcel_layout", "parcel_names"]

#: Yeo's 7 networks in Schaefer's label order.
NETWORKS = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default")
#: Parcels per network in a hemisphere of Schaefer's 400-parcel, 7-network atlas (of 200):
#: every parcel count is split in these proportions.
NETWORK_SHARES = (31, 37, 23, 22, 13, 22, 52)


def network_counts(n_half: int) -> np.ndarray:
    """Parcels per network in a hemisphere of ``n_half`` parcels (largest remainders).

    Examples
    --------
    >>> from sklearn_crossenc.data._networks import network_counts
    >>> network_counts(500).tolist(), network_counts(24).tolist()
    ([78, 93, 57, 55, 32, 55, 130], [4, 4, 3, 3, 1, 3, 6])
    """
    weights = np.asarray(NETWORK_SHARES) * int(n_half)  # exact integers
    counts, remainder = np.divmod(weights, sum(NETWORK_SHARES))
    extra = int(n_half) - int(counts.sum())
    counts[np.argsort(-remainder, kind="stable")[:extra]] += 1  # ties: Schaefer's order
    return counts


def parcel_layout(n_parcels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hemisphere, network and rank within the network of every parcel (column ``i`` is
    label ``i + 1``).

    Parameters
    ----------
    n_parcels : int
        Number of parcels: the first ``n_parcels // 2`` are the left hemisphere.

    Returns
    -------
    hemisphere : ndarray of int, shape (n_parcels,)
        0 left, 1 right.
    network : ndarray of int, shape (n_parcels,)
        Index into :data:`NETWORKS`; non-decreasing within each hemisphere.
    rank : ndarray of float, shape (n_parcels,)
        Position within the hemisphere's network, ``(k + 0.5) / count`` for its ``k``-th
        parcel: near 0 at the network's hub, near 1 farthest from it. Label ``i`` and its
        right-hemisphere homologue ``i + n_parcels // 2`` share network and rank.

    Examples
    --------
    >>> from sklearn_crossenc.data._networks import NETWORKS, parcel_layout
    >>> hemi, net, rank = parcel_layout(1000)
    >>> [NETWORKS[k] for k in net[[0, 77, 78, 499, 500]]]
    ['Vis', 'Vis', 'SomMot', 'Default', 'Vis']
    >>> float(rank[0]), bool((rank[:500] == rank[500:]).all())
    (0.00641025641025641, True)
    """
    n = int(n_parcels)
    sides = (n // 2, n - n // 2)
    hemi, net, rank = [], [], []
    for side, n_side in enumerate(sides):
        for k, count in enumerate(network_counts(n_side)):
            hemi.append(np.full(count, side))
            net.append(np.full(count, k))
            rank.append((np.arange(count) + 0.5) / max(count, 1))
    return (np.concatenate(hemi).astype(int), np.concatenate(net).astype(int),
            np.concatenate(rank).astype(float))


def parcel_names(n_parcels: int) -> tuple[list[str], list[str]]:
    """Schaefer-style names and the network of every synthetic parcel (column ``i`` is label
    ``i + 1``): ``7Networks_<LH|RH>_<network>_<k>``, ``k`` counting from 1 within the
    hemisphere's network, as in Schaefer's label tables.

    Examples
    --------
    >>> from sklearn_crossenc.data._networks import parcel_names
    >>> names, networks = parcel_names(24)
    >>> names[0], names[2], networks[2], names[12]
    ('7Networks_LH_Vis_1', '7Networks_LH_SomMot_1', 'SomMot', '7Networks_RH_Vis_1')
    """
    hemisphere, network, _ = parcel_layout(n_parcels)
    names, seen = [], {}
    for h, n in zip(hemisphere.tolist(), network.tolist(), strict=True):
        seen[h, n] = seen.get((h, n), 0) + 1
        names.append(f"7Networks_{'LH' if h == 0 else 'RH'}_{NETWORKS[n]}_{seen[h, n]}")
    return names, [NETWORKS[n] for n in network.tolist()]
