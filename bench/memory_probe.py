"""Run ``llamafactory-cli`` in this process and record its peak memory on exit.

    python bench/memory_probe.py STATS_JSON train RECIPE.yaml key=value ...

is ``llamafactory-cli train RECIPE.yaml key=value ...`` (stock LLaMA-Factory, single process), plus
STATS_JSON: the process's peak resident memory (VmHWM, else ``ru_maxrss``) and, on a GPU, CUDA's peak allocated
and reserved memory.  Written at exit, also when training fails.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys
import time


def peak_rss_bytes() -> int:
    """This process's peak resident memory: VmHWM where Linux gives it (its own address space; Linux's
    ``ru_maxrss`` starts from the forking parent's resident size), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    stats_path, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()

    def record() -> None:
        stats = {"max_rss_bytes": peak_rss_bytes(),
                 "wall_s": round(time.perf_counter() - start, 2)}
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            stats["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated()
            stats["cuda_max_reserved_bytes"] = torch.cuda.max_memory_reserved()
            stats["cuda_device"] = torch.cuda.get_device_name(0)
        with open(stats_path, "w") as f:
            json.dump(stats, f)

    atexit.register(record)
    sys.argv = ["llamafactory-cli", *argv]
    from llamafactory.launcher import launch

    launch()


if __name__ == "__main__":
    main()
