"""Claims: the paper's claims and the rules that decide, from a run's numbers, whether each holds.
`claim` defines a claim and its verdict; one module per notebook (`data`, `model`, `training`,
`confusion`, `embeddings`, `equations`, `attention`, `recommendations`) holds that notebook's
rules, unit-tested on hand-made inputs rather than living in notebook cells."""
