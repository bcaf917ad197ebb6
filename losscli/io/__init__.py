"""Input and output: chunked readers, role resolution and alignment, per-row writers.

- :mod:`~losscli.io.base`: the contracts, :class:`~losscli.io.base.Source` and
  :class:`~losscli.io.base.Sink`, and ``ARRAY``.
- :mod:`~losscli.io.formats`: one reader module per format (file and pipe variants
  together) and :func:`~losscli.io.formats.open_source`, which opens a path or ``-``.
- :mod:`~losscli.io.arrow`, :mod:`~losscli.io.detect`, :mod:`~losscli.io.stream`,
  :mod:`~losscli.io.records`, :mod:`~losscli.io.opening`, :mod:`~losscli.io.failures`:
  what the readers share (Arrow to float64, format detection, byte streams and pipes, where
  records end, files opened decompressed and transcoded, the exceptions a reader turns into
  an InputError); no reader imports another.
- :mod:`~losscli.io.inputs`: role binding, alignment and re-chunking;
  :mod:`~losscli.io.prefetch`: the reader thread; :mod:`~losscli.io.sinks`: per-row writers.
"""
