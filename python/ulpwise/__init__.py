"""ulpwise Python helpers (placeholder for the runner's own tests; replaced at merge)."""
