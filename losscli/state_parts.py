"""Every kind of part a state (:mod:`losscli.state`) is made of, in one tuple: each keeps
the :class:`~losscli.stats.mergeable.Mergeable` contract — mypy checks the signatures here,
``tests/test_mergeable.py`` the behaviour, on each kind (every kind of aggregate,
:data:`losscli.aggregate_base.AGGREGATES`, loaded on use). Apart from :mod:`losscli.state`,
so that a run does not import the optional parts it never builds."""

from __future__ import annotations

from losscli.aggregates import Aggregate
from losscli.state import Cell, Fingerprint, NonFinite, State
from losscli.stats.calibration import CalibrationError
from losscli.stats.confusion import ConfusionMatrix, MultilabelHamming
from losscli.stats.exact import ExactProducts, ExactSum
from losscli.stats.intervals import Moments
from losscli.stats.joins import JoinState
from losscli.stats.keyed import KeyedSums
from losscli.stats.mergeable import Mergeable
from losscli.stats.one_vs_rest import OneVsRest
from losscli.stats.ranking import BinnedRanking, Ranking
from losscli.stats.resample import BootstrapSums
from losscli.stats.sketch import QuantileSketch
from losscli.uncertainty import Uncertainty

PARTS: tuple[type[Mergeable], ...] = (
    State, Cell, NonFinite, Fingerprint, JoinState, Aggregate, Uncertainty,
    Moments, BootstrapSums, QuantileSketch, CalibrationError, ConfusionMatrix,
    MultilabelHamming, Ranking, BinnedRanking, OneVsRest, KeyedSums, ExactSum, ExactProducts)
