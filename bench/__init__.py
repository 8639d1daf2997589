"""The project's benchmark: in-process cost per message against the lxml floor and the
Python peers, peak memory of a 10,000-transaction file, and end-to-end throughput over
HTTP with the real broker and store. ``python -m bench`` (or ``make bench``) runs it and
writes ``bench/results/latest.md`` and ``latest.json``; see ``bench/README.md``."""
