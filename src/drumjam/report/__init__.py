"""People-facing reports: HTML with plots, keepsake cards."""
