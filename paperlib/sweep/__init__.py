"""Sweep: many runs at once on Dask. The grid of seeds x values (`grid`), one member as a task that
returns its run folder (`member`), the cluster (`cluster`: a LocalCluster or a running scheduler)
and the sweep itself (`runner`: skip what is done, collect, record). The top layer: only the
command line (`paperlib.cli`) imports it."""
