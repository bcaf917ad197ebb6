"""Input and output: chunked readers, role resolution and alignment, per-row writers."""
