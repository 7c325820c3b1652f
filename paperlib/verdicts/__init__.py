"""'Paper vs this run' verdict rules, one module per notebook: each function takes the numbers a
notebook computed and returns its `claims.Claim`s, so every rule is unit-tested here rather than
living in a notebook cell."""
