"""``python -m llm_router`` is the ``llm-router`` command."""

from llm_router.cli import main

raise SystemExit(main())
