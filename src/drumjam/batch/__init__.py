"""Batch analysis on Dask: many takes or songs scored or analysed into one result table.

:mod:`.items` turns a folder, a glob or a CSV manifest into work items, :mod:`.tasks` does
one item (the same calls as the one-file commands), :mod:`.table` reads and writes the result
table (Parquet or CSV) and :mod:`.runner` sends the items to a ``dask.distributed`` cluster.
"""

from drumjam.batch.items import COMMANDS, Item, collect_items
from drumjam.batch.runner import BatchSummary, run_batch

__all__ = ["COMMANDS", "BatchSummary", "Item", "collect_items", "run_batch"]
