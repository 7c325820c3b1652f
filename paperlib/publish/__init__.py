"""Publish: turning runs into what people read. The papermill runner of the notebooks
(`notebook_runner`), the Jupyter Book of a run (`book`, with its claims page) and the page that sets
random and artist-grouped folds side by side (`splits_page`). The top layer: nothing in paperlib
imports it but the command line (`paperlib.cli`)."""
