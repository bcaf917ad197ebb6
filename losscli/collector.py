"""The command's start-up without Python's cyclic garbage collector (standard library only).

Starting ``losscli eval`` creates a few hundred thousand objects (typer, numpy, pyarrow and
losscli's own modules), almost none of them garbage, and the collector walks them all again
and again as they are made: ~30 ms of CPU of every start (``perf``: ``gc_collect_main`` and
its visits, ~15 % of Python's share of a start-up). The command pauses it before anything is
imported (:func:`pause`, from :func:`losscli.__main__.entry`) and resumes it when the
command's body is loaded (:func:`resume`, from :func:`losscli.cli.commands.body`), moving
what start-up made into the collector's permanent generation (``gc.freeze``), so that
later collections do not walk it either. The importable API never touches the collector.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop automatic collections (unless the process already did)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what exists and collect again, when :func:`pause` stopped the collector."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
