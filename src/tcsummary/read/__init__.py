"""Stage 1, read: Aim's runs and the artifact files, without changing a byte of either."""
