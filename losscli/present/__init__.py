"""Presentation: how losscli shows values and names as text (:mod:`losscli.present.text`).

Everything here is plain data in, text out; no module below the CLI's renderers needs it
to compute a number.
"""
