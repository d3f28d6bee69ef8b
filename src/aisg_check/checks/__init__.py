"""One module per component; each exposes its `Check`s and the diagnoses it can report."""
