"""Figures: what the notebooks and the book show, drawn from the numbers the analyses return.
`plots` makes static matplotlib/seaborn figures, `interactive` plotly figures to turn and hover
(with a static image beside each). A function takes data and returns a figure; nothing here
computes a result. Imports `paperlib.data` and `paperlib.core`."""
