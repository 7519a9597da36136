# SPDX-License-Identifier: Apache-2.0
"""The process-wide log sink: pcipass prints nothing until one is installed."""

import threading

from . import constants
from ._call import call
from ._lib import LOG_FN, lib

_lock = threading.Lock()
# The installed C callback; it must stay referenced while pcipass may call it.
_sink = None


def set_log_sink(sink, level=constants.LOG_INFO):
    """Install sink(level, category_name, message) for lines at level and above.

    sink runs on whichever thread logs, including pcipass's worker threads,
    and must not call into pcipass. None removes the sink. The environment
    variable PCIPASS_LOG ("Txn:debug,Graph:info") overrides the level per
    category.
    """
    global _sink

    with _lock:
        if sink is None:
            call(lib.pcipass_set_log_sink, LOG_FN(), None, level)
            _sink = None
            return

        def called(_userdata, line_level, category, message):
            name = lib.pcipass_log_category_name(category)
            sink(line_level, name.decode('utf-8') if name else str(category),
                 message.decode('utf-8', 'replace'))

        function = LOG_FN(called)
        call(lib.pcipass_set_log_sink, function, None, level)
        _sink = function
