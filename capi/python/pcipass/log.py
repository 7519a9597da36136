# SPDX-License-Identifier: Apache-2.0
"""The process-wide log sink: pcipass prints nothing until one is installed."""

import threading

from . import constants
from ._call import call, integer
from ._lib import LOG_FN, lib

_lock = threading.Lock()
# Every C callback ever installed. A replaced one stays referenced because a
# line that another thread was logging at the same moment may still reach it.
_sinks = []


def set_log_sink(sink, level=constants.LOG_INFO):
    """Install sink(level, category_name, message) for lines at level and above.

    sink runs on whichever thread logs, including pcipass's worker threads,
    and must not call into pcipass. None removes the sink. The environment
    variable PCIPASS_LOG ("Txn:debug,Graph:info") overrides the level per
    category.
    """
    level = integer(level, 'level', 32, True)
    with _lock:
        if sink is None:
            call(lib.pcipass_set_log_sink, LOG_FN(), None, level)
            return

        def called(_userdata, line_level, category, message):
            name = lib.pcipass_log_category_name(category)
            sink(line_level, name.decode('utf-8') if name else str(category),
                 message.decode('utf-8', 'replace'))

        function = LOG_FN(called)
        call(lib.pcipass_set_log_sink, function, None, level)
        _sinks.append(function)
