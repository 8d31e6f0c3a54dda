"""Evaluation a paper can rest on: noise ceilings, intervals, paired tests, brain maps.

Everything here works on any predictions, not only inside ``crossenc compare``:

>>> import numpy as np
>>> from sklearn_crossenc.evaluation import run_statistics, bootstrap_score
>>> rng = np.random.default_rng(0)
>>> y = rng.standard_normal((9, 2, 40, 10))                  # (runs, subjects, time, parcels)
>>> stats = run_statistics(y, y + rng.standard_normal(y.shape))
>>> ci = bootstrap_score(stats, n_resamples=100, random_state=0)
>>> ci.low < ci.estimate < ci.high
True

The brain-map functions need nilearn and matplotlib (the ``plot`` extra); importing this
package does not.
"""

from ._bootstrap import (
    bootstrap_score,
    bootstrap_scores,
    paired_comparison,
    ratio_interval,
    resample_counts,
)
from ._ceiling import NoiseCeiling, fraction_of_ceiling, noise_ceiling, repeat_pairs
from ._intervals import METHODS, fdr_bh
from ._maps import find_atlas, parcel_image, plot_parcel_map
from ._partition import PARTS, partition_variance
from ._results import PairedComparison, ScoreInterval
from ._runstats import RunStatistics, pearson_from_sums, run_statistics

__all__ = [
    "METHODS",
    "PARTS",
    "NoiseCeiling",
    "PairedComparison",
    "RunStatistics",
    "ScoreInterval",
    "bootstrap_score",
    "bootstrap_scores",
    "fdr_bh",
    "find_atlas",
    "fraction_of_ceiling",
    "noise_ceiling",
    "paired_comparison",
    "partition_variance",
    "parcel_image",
    "pearson_from_sums",
    "plot_parcel_map",
    "ratio_interval",
    "repeat_pairs",
    "resample_counts",
    "run_statistics",
]
