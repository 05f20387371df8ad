"""The web console's static files (served by ``llm_router/api/ui.py``): plain HTML, CSS and
ES modules written without a build step, and a vendored chart library (uPlot 1.6.32, MIT,
see LICENSE.uPlot.txt)."""
