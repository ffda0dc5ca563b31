"""People-facing reports: HTML with plots, keepsake cards.

The names below load their module on first use (``lazy_loader``): importing the package does
not load Matplotlib.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "html": ["duet_report_html", "take_report_html", "voice_table", "write_duet_report",
             "write_take_report"],
})
