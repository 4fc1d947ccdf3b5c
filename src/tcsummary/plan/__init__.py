"""Stage 2, plan: what a build covers (selection, campaigns, grids, batches, lock, waiting)."""
