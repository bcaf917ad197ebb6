"""Numeric building blocks with mergeable, exactly serialisable state: exact sums, and
(later) resampling weights, sketches, rankings and intervals. Pure: no I/O, no CLI."""
