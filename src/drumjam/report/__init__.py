"""People-facing reports: HTML with plots, keepsake cards."""

from drumjam.report.html import (
    duet_report_html,
    take_report_html,
    voice_table,
    write_duet_report,
    write_take_report,
)

__all__ = ["duet_report_html", "take_report_html", "voice_table", "write_duet_report", "write_take_report"]
