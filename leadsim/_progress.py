"""leadsim's progress bars: tqdm's notebook widget where Jupyter can draw it, its text bar elsewhere.

``tqdm.auto`` warns "IProgress not found" in a notebook without ipywidgets
(and falls back to the text bar); leadsim does not require ipywidgets, so the
fallback is the expected case and the warning is left out.

>>> from leadsim._progress import tqdm
>>> sum(tqdm(range(3), disable=True))
3
"""

from __future__ import annotations

import warnings

from tqdm import TqdmWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

__all__ = ["tqdm"]
