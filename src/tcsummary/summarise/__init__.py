"""Stage 3, summarise: extraction, statistics, campaign tables, tcbench's files, provenance."""
