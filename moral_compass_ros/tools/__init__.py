"""Command-line tools: demo, record, replay, eval, bench (``moral-compass --help``)."""
