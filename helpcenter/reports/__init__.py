"""Reports for editors and support leads: unanswered questions grouped, service figures, the SVG chart.
May import: every other helpcenter package (it is the last layer)."""
