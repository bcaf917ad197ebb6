"""`losscli losses` and the catalogue: what each loss expects, its tasks and options.

(tests/test_discovery.py runs every loss's example command.)
"""

from __future__ import annotations

import json

from losscli.catalog import describe
from losscli.registry import all_losses


def test_losses_json_says_what_each_loss_expects(cli):
    result = cli("losses", "--format", "json")
    assert result.exit_code == 0
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert set(entries) == set(all_losses())
    for entry in entries.values():
        assert entry["expects"] and entry["tasks"] and entry["example"].startswith("losscli eval")
    assert entries["bce"]["tasks"] == ["binary", "multilabel"]
    assert "--from-logits" in entries["bce"]["expects"]
    assert entries["softmax_cross_entropy"]["implies"] == {"from_logits": True}
    assert entries["triplet"]["inputs"] == ["anchor", "positive", "negative"]
    assert entries["msle"]["domain"] == {"pred": "> -1", "target": "> -1"}
    assert "probabilities in [0, 1]" in entries["cross_entropy"]["domain"]["pred"]


def test_losses_detail_shows_expectations_and_options(cli):
    result = cli("losses", "softmax_cross_entropy")
    assert result.exit_code == 0
    out = result.stdout
    assert "expects" in out and "class index or distribution" in out
    assert "from_logits (implied: True)" in out
    assert "losscli eval sample_data/logits.npy --targets sample_data/labels.npy" in out


def test_describe_lists_tasks_for_every_family():
    tasks = {name: describe(spec)["tasks"] for name, spec in all_losses().items()}
    assert tasks["mse"] == ["regression", "binary"]
    assert tasks["zero_one"] == ["regression", "binary", "multiclass"]
    assert tasks["kl_div"] == ["multiclass"] and tasks["triplet"] == ["embedding"]
