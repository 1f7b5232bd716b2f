"""`make bench`: each figure beside the machine's own limit, measured in the same run."""

from typing import Any

Figures = dict[str, Any]  # the numbers, and the labels printed beside them
