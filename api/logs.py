"""Process logging for `harbour serve` and `harbour worker`."""

from __future__ import annotations

import logging

# Libraries whose INFO lines would leak: httpx logs every request's URL, and an APNs URL ends
# in the device token (a webhook URL may carry a secret path). Warnings and errors only.
QUIET = ("httpx", "httpcore", "h2", "hpack", "apscheduler")


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
