"""Core: what every layer stands on. The typed configuration of a run (`config`), every project
path (`paths`), per-process setup (`session`), parallel helpers (`parallel`), atomic file writes
(`files`), and the run folder (`run_folder`): its artifact registry (`registry`, every file a run
folder can hold, declared once) and the typed results each notebook records (`results`).
Core imports nothing else from paperlib."""
