"""loopwise.evals: evaluators that score spans and dataset runs, and rules that flag them."""
