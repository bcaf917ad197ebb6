"""Peer scripts: each runs as its own process, ``python PEER.py TASK FORMAT FILE [FILE2]``,
and prints one JSON object of loss name -> value on stdout. They import nothing from
losscli or benchmarks, so each process pays exactly its own start-up and imports."""
