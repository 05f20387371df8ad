"""llama.cpp's own HTTP server (llama-server, as built into the ``xllamacpp`` wheel of the
``local`` extra) on 127.0.0.1:PORT serving a GGUF file, until this process is ended.

    python llama_server.py MODEL.gguf PORT
"""

from __future__ import annotations

import signal
import sys

import xllamacpp  # type: ignore[import-untyped]


def main(model: str, port: int) -> None:
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = "smollm2"
    params.n_ctx = 1024
    params.n_parallel = 1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 1
    params.warmup = False
    params.no_extra_bufts = True
    params.hostnames = ["127.0.0.1"]
    params.port = port
    server = xllamacpp.Server(params)
    print("listening", server.listening_address, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
