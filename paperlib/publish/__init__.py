"""Publish: turning runs into what people read. The papermill runner of the notebooks
(`notebook_runner`), reading a finished run back (`run_reader`), the Jupyter Book of a run (`book`,
with its claims page), and random vs artist-grouped folds side by side (`split_comparison` for the
numbers, `splits_page` for the page); `markdown` escapes text for the pages; the
across-seeds page of a sweep (`across_seeds_page`). Only `paperlib.sweep` and the command line
import it."""
