"""Claims: the paper's claims and the rules that decide, from a run's numbers, whether each holds.
`claim` shows claims as a table (the claim itself is `core.results.Claim`); one module per notebook
holds that notebook's rules and builds its typed result: `data` (01), `model` (02), `training`
(03), `confusion` (04), `embeddings` (05), `equations` (06), `attention` (07), `recommendations`
(08), `explanations` (09), `real_gtzan` (10); `across_seeds` says how often a claim held across a
sweep's members. The rules are unit-tested on hand-made inputs rather than living in notebook cells."""
