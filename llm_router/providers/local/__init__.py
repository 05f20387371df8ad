"""The ``local`` provider: a GGUF model run in-process by llama-cpp-python.

Nothing here imports ``llama_cpp`` at import time: without the ``local`` extra the
provider is simply unavailable (``pip install 'llm-router[local]'``)."""
