"""Stage 4, render: HTML, Markdown, LaTeX and SVG from a campaign's summary view."""
