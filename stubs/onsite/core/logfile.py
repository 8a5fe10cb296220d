"""A plain-text log per command under <root>/var/log/ha-installer/ (commands and their output)."""

import os
import time

LOG_REL = "var/log/ha-installer"


class Log(object):
    """Append-only log; every line timestamped. Field staff send this file to the build team."""

    def __init__(self, root, name):
        directory = os.path.join(root, LOG_REL)
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o700)
        self.path = os.path.join(directory, name + ".log")
        self._handle = open(self.path, "a")

    def write(self, text):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        for line in str(text).splitlines() or [""]:
            self._handle.write("{} {}\n".format(stamp, line))
        self._handle.flush()

    def close(self):
        self._handle.close()
