"""Input and output: chunked readers, role resolution and alignment, per-row writers.

- :mod:`~losscli.io.base`: the contracts, :class:`~losscli.io.base.Source` and
  :class:`~losscli.io.base.Sink`, and ``ARRAY``.
- :mod:`~losscli.io.formats`: one reader module per format (file and pipe variants
  together) and :func:`~losscli.io.formats.open_source`, which opens a path or ``-``.
- :mod:`~losscli.io.arrow`, :mod:`~losscli.io.detect`, :mod:`~losscli.io.stream`: what the
  readers share (Arrow to float64, format detection, byte streams); no reader imports
  another.
- :mod:`~losscli.io.inputs`: role binding, alignment and re-chunking;
  :mod:`~losscli.io.prefetch`: the reader thread; :mod:`~losscli.io.sinks`: per-row writers.
"""
