"""Presentation: how losscli shows a report, a check's verdict and a comparison.

One layer, plain data in, text out; nothing below it needs it to compute a number.

* :mod:`~losscli.present.text` — the one escape (:func:`~losscli.present.text.printable`),
  the number formats (``format_value``: 6 significant digits, everywhere a value is shown;
  ``full_precision`` for CSV and hover titles only) and the terminal facts.
* Text formats: :mod:`~losscli.present.table` (the fitted table, Markdown/CSV cells, the one
  writer), :mod:`~losscli.present.summary` (the words around the numbers),
  :mod:`losscli.render` (a report), :mod:`~losscli.present.check_text` (a verdict, read from
  ``Outcome``/``Verdict``), :mod:`~losscli.present.compare_text` (a comparison).
* Pictures: the models in :mod:`~losscli.present.pictures` (Histogram, Counts for a 0/1
  loss, Reliability, GroupBars) and :mod:`~losscli.present.axes`; their terminal drawings in
  :mod:`~losscli.present.canvas`, :mod:`~losscli.present.terminal`,
  :mod:`~losscli.present.terminal_reliability`, :mod:`~losscli.present.terminal_bars`
  (``losscli.plot`` gathers their public names); their SVG drawings in
  :mod:`~losscli.present.svg`.
* The page: :mod:`losscli.html` (the page only), its markup in
  :mod:`~losscli.present.markup` and its picture sections in :mod:`~losscli.present.figures`.
"""
