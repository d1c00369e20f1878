"""Templates and escaping shared by the reports and the checklist forms: one Jinja2 environment
(:mod:`~butterfly.templating.environment`), the Markdown escaper (:mod:`~butterfly.templating.markdown`) and the
SVG/text charts (:mod:`~butterfly.templating.svg`)."""
